"""Weights for test and benchmark checkpoints.

The authors' init makes the hypernetwork's outputs ~1e-3 of the experts' (their
hyperfanin init), so a checkpoint fresh from it would let a wrong HyperExpert pass a
1e-4 comparison unnoticed. Here every weight is scaled so each stage's output has
roughly unit size: the HyperExpert then moves the logits by a clear fraction (see
`hyper_effect`), and a wrong selection pattern, sum, view or layer embedding shows.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from .model import GPT2HyperMoE


def _std_for(name: str, shape: Sequence[int], cfg) -> float:
    """Standard deviation of the normal init of one checkpoint tensor."""
    d, H, b = cfg.n_embd, cfg.hypernetwork_bottleneck, cfg.adapter_dim
    if name.endswith("wte.weight"):
        # Small next to what the blocks add: with tied embeddings a large wte makes the
        # model echo its input token, and greedy continuations would test little.
        return 0.1
    if name.endswith("wpe.weight"):
        return 0.5
    if name.endswith(".bias"):
        # The generator's biases are the pattern-independent part of the HyperExpert:
        # keep them small so that what depends on the selection dominates.
        return 0.01 if ".param_gen.decoder.weight_" in name else 0.05
    if "mlp.w_gate" in name:
        return 3.0 / math.sqrt(d)        # gate logits of a few units: varied routing
    if "n_experts_embedding" in name or "layer_embed" in name:
        return 1.0
    if "decoder.weight_down" in name:    # generated Wd entries ~ 1/sqrt(d)
        return 1.0 / math.sqrt(H * d)
    if "decoder.weight_up" in name:      # generated Wu entries ~ 1/sqrt(b)
        return 1.0 / math.sqrt(H * b)
    if "decoder.bias_" in name:
        return 0.3 / math.sqrt(H)
    if len(shape) == 2:
        # Conv1D weights are [in, out], nn.Linear weights [out, in]: fan-in differs.
        conv1d = ".attn." in name or ".experts." in name or "w_noise" in name
        fan_in = shape[0] if conv1d else shape[1]
        return 1.0 / math.sqrt(fan_in)
    return 0.05


@torch.no_grad()
def init_test_weights(model: GPT2HyperMoE, seed: int) -> None:
    """Deterministic in `seed`: the same seed gives the same checkpoint on any machine."""
    gen = torch.Generator().manual_seed(seed)
    cfg = model.config
    for name, p in model.named_parameters():  # lm_head.weight is wte's, listed once
        if ".ln_" in name or name.startswith("transformer.ln_f"):
            base = 1.0 if name.endswith(".weight") else 0.0
            p.copy_(base + 0.1 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(_std_for(name, p.shape, cfg) * torch.randn(p.shape, generator=gen))


@torch.no_grad()
def hyper_effect(model: GPT2HyperMoE, ids: torch.Tensor) -> float:
    """max|logits - logits without the HyperExpert| / max|logits| on `ids` [B, T]."""
    with_hyper, _ = model(ids)
    model.hyper_enabled = False
    try:
        without, _ = model(ids)
    finally:
        model.hyper_enabled = True
    return float((with_hyper - without).abs().max() / with_hyper.abs().max())
