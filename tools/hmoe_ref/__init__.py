"""Python side of hypermoe: the PyTorch reference models of GPT-2 HyperMoE and Switch
Transformer HyperMoE, checkpoint I/O, the .hmoe writer and reader used by
tools/convert.py, and test helpers.

    from hmoe_ref import HyperMoEConfig, GPT2HyperMoE, generate_greedy, read_hmoe
    from hmoe_ref import SwitchConfig, SwitchHyperMoE, generate_switch_greedy

Names are imported on first use, so the file-format modules (hmoe_file, hmoe_writer,
fb_verify) load without torch.
"""
import importlib

__version__ = "0.1.0"

_LAZY = {
    "ConfigError": "config", "HyperMoEConfig": "config",
    "GPT2HyperMoE": "model", "generate_greedy": "model",
    "read_hmoe": "hmoe_file", "HmoeFormatError": "hmoe_file",
    "SwitchConfig": "switch_config", "SwitchHyperMoE": "switch_model",
}
_RENAMED = {"generate_switch_greedy": ("switch_model", "generate_greedy")}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _RENAMED:
        module, attr = _RENAMED[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'hmoe_ref' has no attribute '{name}'")


__all__ = list(_LAZY) + list(_RENAMED) + ["__version__"]
