"""Checkpoint folders as the authors' code (Hugging Face save_pretrained) writes them:
config.json plus pytorch_model.bin or model.safetensors."""
from __future__ import annotations

import os
from typing import Dict

import numpy as np
import torch

from .config import HyperMoEConfig
from .model import GPT2HyperMoE
from .safetensors_np import read_safetensors, write_safetensors

BIN_NAME = "pytorch_model.bin"
SAFETENSORS_NAME = "model.safetensors"


class CheckpointError(ValueError):
    pass


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16
        t = t.float()
    return t.contiguous().numpy()


def read_tensors(ckpt_dir: str) -> Dict[str, np.ndarray]:
    """The checkpoint's state dict as numpy arrays (safetensors ones memory-mapped)."""
    st = os.path.join(ckpt_dir, SAFETENSORS_NAME)
    if os.path.exists(st):
        return read_safetensors(st)
    pt = os.path.join(ckpt_dir, BIN_NAME)
    if not os.path.exists(pt):
        for index in (SAFETENSORS_NAME + ".index.json", BIN_NAME + ".index.json"):
            if os.path.exists(os.path.join(ckpt_dir, index)):
                raise CheckpointError(f"'{ckpt_dir}' is sharded ({index}); sharded checkpoints are not "
                                      "supported: re-save it unsharded (save_pretrained(max_shard_size='100GB'))")
        raise CheckpointError(f"'{ckpt_dir}' holds neither {SAFETENSORS_NAME} nor {BIN_NAME}")
    try:
        # weights_only: a checkpoint is data; refuse pickles that would run code.
        sd = torch.load(pt, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for corrupt or hostile files
        raise CheckpointError(f"cannot read '{pt}': {e}") from None
    if not isinstance(sd, dict):
        raise CheckpointError(f"'{pt}' does not hold a state dict")
    if "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    out = {}
    for name, t in sd.items():
        if not isinstance(t, torch.Tensor):
            raise CheckpointError(f"'{pt}': entry '{name}' is a {type(t).__name__}, not a tensor")
        out[name] = _to_numpy(t)
    return out


def save_checkpoint(model: GPT2HyperMoE, ckpt_dir: str, safetensors: bool = False) -> str:
    """Writes config.json and the weights; returns the weights' path."""
    os.makedirs(ckpt_dir, exist_ok=True)
    model.config.save(ckpt_dir)
    sd = model.state_dict()
    if safetensors:
        # safetensors refuses shared storage: like Hugging Face, drop the tied head.
        arrays = {k: _to_numpy(v) for k, v in sd.items() if k != "lm_head.weight"}
        path = os.path.join(ckpt_dir, SAFETENSORS_NAME)
        write_safetensors(path, arrays, {"format": "pt"})
    else:
        path = os.path.join(ckpt_dir, BIN_NAME)
        torch.save(sd, path)
    return path


def load_model(ckpt_dir: str, per_pattern: bool = False) -> GPT2HyperMoE:
    """The reference model with a checkpoint's weights, for computing expected logits."""
    cfg = HyperMoEConfig.load(ckpt_dir)
    model = GPT2HyperMoE(cfg, per_pattern=per_pattern)
    sd = {k: torch.from_numpy(np.array(v)) for k, v in read_tensors(ckpt_dir).items()}
    sd.setdefault("lm_head.weight", sd.get("transformer.wte.weight"))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing:
        raise CheckpointError(f"'{ckpt_dir}' lacks tensor(s): {', '.join(missing)}")
    model.eval()
    return model
