"""Python side of hypermoe: the PyTorch reference model of GPT-2 HyperMoE, checkpoint
I/O, the .hmoe writer and reader used by tools/convert.py, and test helpers.

    from hmoe_ref import HyperMoEConfig, GPT2HyperMoE, generate_greedy, read_hmoe

Names are imported on first use, so the file-format modules (hmoe_file, hmoe_writer,
fb_verify) load without torch.
"""
import importlib

__version__ = "0.1.0"

_LAZY = {
    "ConfigError": "config", "HyperMoEConfig": "config",
    "GPT2HyperMoE": "model", "generate_greedy": "model",
    "read_hmoe": "hmoe_file", "HmoeFormatError": "hmoe_file",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'hmoe_ref' has no attribute '{name}'")


__all__ = list(_LAZY) + ["__version__"]
