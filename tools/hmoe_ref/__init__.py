"""Python side of hypermoe: the PyTorch reference model of GPT-2 HyperMoE, checkpoint
I/O, the .hmoe writer and reader used by tools/convert.py, and test helpers.

    from hmoe_ref import HyperMoEConfig, GPT2HyperMoE, generate_greedy, read_hmoe
"""
from .config import ConfigError, HyperMoEConfig
from .model import GPT2HyperMoE, generate_greedy

__version__ = "0.1.0"


def read_hmoe(path):
    """A .hmoe file's header and tensors (see hmoe_file.HmoeFile); imported lazily so
    model-only users need not have the flatbuffers package."""
    from .hmoe_file import read_hmoe as _read
    return _read(path)


__all__ = ["ConfigError", "HyperMoEConfig", "GPT2HyperMoE", "generate_greedy", "read_hmoe", "__version__"]
