"""Checkpoint folders as the authors' code (Hugging Face save_pretrained) writes them:
config.json plus pytorch_model.bin or model.safetensors, for GPT-2 and Switch HyperMoE."""
from __future__ import annotations

import os
from typing import Dict

import numpy as np
import torch

from .config import HyperMoEConfig
from .model import GPT2HyperMoE
from .safetensors_np import read_safetensors, write_safetensors
from .switch_config import SwitchConfig, is_switch_config, read_config_json
from .switch_model import SwitchHyperMoE

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


def save_checkpoint(model: torch.nn.Module, ckpt_dir: str, safetensors: bool = False) -> str:
    """Writes config.json and the weights of a GPT2HyperMoE or a SwitchHyperMoE; returns
    the weights' path. The .bin keeps every name, aliases included (a tied lm_head, the
    Switch stacks' embed_tokens), as torch.save of a state dict does."""
    os.makedirs(ckpt_dir, exist_ok=True)
    model.config.save(ckpt_dir)
    sd = model.state_dict()
    if safetensors:
        # safetensors refuses shared storage: like Hugging Face, keep the first name of
        # each tensor and drop its aliases.
        seen, arrays = set(), {}
        for k, v in sd.items():
            if v.data_ptr() not in seen:
                seen.add(v.data_ptr())
                arrays[k] = _to_numpy(v)
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


def checkpoint_arch(ckpt_dir: str) -> str:
    """'switch' for a Switch Transformer checkpoint (config.json's model_type or
    architectures), else 'gpt2'."""
    return "switch" if is_switch_config(read_config_json(ckpt_dir)) else "gpt2"


def load_switch_model(ckpt_dir: str, per_pattern: bool = False) -> SwitchHyperMoE:
    """The Switch reference model with a checkpoint's weights. Aliases of the shared
    embedding (embed_tokens, a tied lm_head) are not loaded: the model ties them itself."""
    cfg = SwitchConfig.load(ckpt_dir)
    model = SwitchHyperMoE(cfg, per_pattern=per_pattern)
    src = read_tensors(ckpt_dir)
    sd = {k: torch.from_numpy(np.array(v)) for k, v in src.items()}
    if "shared.weight" not in sd:
        for alias in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
            if alias in sd:
                sd["shared.weight"] = sd[alias]
                break
    aliases = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"}
    if cfg.tie_word_embeddings:
        aliases.add("lm_head.weight")
    sd = {k: v for k, v in sd.items() if k not in aliases}
    missing, _ = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k not in aliases]
    if missing:
        raise CheckpointError(f"'{ckpt_dir}' lacks tensor(s): {', '.join(missing)}")
    model.eval()
    return model
