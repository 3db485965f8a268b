"""Weights for Switch HyperMoE test and benchmark checkpoints.

As for GPT-2 (init.py): the authors' hyperfanin init makes the HyperExpert ~1e-3 of the
experts' output, too little for a 1e-4 comparison to notice a wrong HyperExpert. Here
every stage's output has roughly unit size, so the HyperExpert, the router (pmax,
capacity) and the position bias all move the logits by a clear fraction (see
`hyper_effect`).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from .switch_model import SwitchHyperMoE

SHARED_STD = 0.1


def _std_for(name: str, shape: Sequence[int], cfg) -> float:
    """Standard deviation of the normal init of one checkpoint tensor."""
    d, Hb, b = cfg.d_model, cfg.hypernetwork_bottleneck, cfg.adapter_dim
    if name == "shared.weight":
        # Small next to what the blocks add: with a tied head a large embedding makes the
        # decoder echo its input token, and greedy continuations would test little.
        return SHARED_STD
    if name == "lm_head.weight":
        return 1.0
    if "relative_attention_bias" in name:
        return 1.0  # position biases of a few units: attention patterns depend on distance
    if name.endswith("router.classifier.bias"):
        return 0.5
    if name.endswith(".bias"):
        # The generator's biases are the pattern-independent part of the HyperExpert:
        # small, so that what depends on the selected expert dominates.
        return 0.01 if ".param_gen.decoder.weight_" in name else 0.05
    if "router.classifier.weight" in name:
        return 3.0 / math.sqrt(d)        # router logits of a few units: varied routing
    if "n_experts_embedding" in name or "layer_embed" in name:
        return 1.0
    if "param_gen.decoder.weight_down" in name:  # generated Wd entries ~ 1/sqrt(d)
        return 1.0 / math.sqrt(Hb * d)
    if "param_gen.decoder.weight_up" in name:    # generated Wu entries ~ 1/sqrt(b)
        return 1.0 / math.sqrt(Hb * b)
    if "param_gen.decoder.bias_" in name:
        return 0.3 / math.sqrt(Hb)
    if name.endswith(".q.weight"):
        # No 1/sqrt(d_kv) on the scores: scores of ~d_kv**0.25, softmax neither flat nor one-hot.
        return cfg.d_kv ** -0.25 / math.sqrt(d)
    if len(shape) == 2:
        return 1.0 / math.sqrt(shape[1])  # nn.Linear [out, in]
    return 0.05


@torch.no_grad()
def init_test_weights(model: SwitchHyperMoE, seed: int) -> None:
    """Deterministic in `seed`: the same seed gives the same checkpoint on any machine.
    Aliases (embed_tokens, a tied lm_head) are the shared tensor and are listed once."""
    gen = torch.Generator().manual_seed(seed)
    cfg = model.config
    for name, p in model.named_parameters():
        if "layer_norm" in name:
            p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(_std_for(name, p.shape, cfg) * torch.randn(p.shape, generator=gen))


@torch.no_grad()
def hyper_effect(model: SwitchHyperMoE, encoder_ids: torch.Tensor, decoder_ids: torch.Tensor) -> float:
    """max|logits - logits without the HyperExpert| / max|logits| of one teacher-forced call."""
    with_hyper = model(encoder_ids, decoder_ids)
    model.hyper_enabled = False
    try:
        without = model(encoder_ids, decoder_ids)
    finally:
        model.hyper_enabled = True
    return float((with_hyper - without).abs().max() / with_hyper.abs().max())
