"""Named model shapes for make_checkpoint.py: small ones for tests, one for benchmarks."""
from __future__ import annotations

from typing import Dict

from .config import HyperMoEConfig

# Test models: fast on a 2-core machine, yet every dimension distinct enough that a
# transposed or mis-viewed weight shows up as a shape error or a wrong number.
_SMALL = dict(vocab_size=512, n_positions=128, n_embd=64, n_layer=2, n_head=4,
              experts_embedding_dim=16, process_dim=16, hypernet_input=16,
              hypernetwork_bottleneck=16, layer_emb_dim=4, adapter_dim=8)

PRESETS: Dict[str, dict] = {
    "n8k2": dict(_SMALL, n_experts=8, k=2),
    "n8k1": dict(_SMALL, n_experts=8, k=1),
    "n16k2": dict(_SMALL, n_experts=16, k=2),
    "plain": dict(_SMALL, n_experts=8, k=2, experts_embedding=False, use_hypernet=False),
    # Every hypernetwork dimension different (a mixed-up one cannot hide behind equal
    # shapes), k = 3, odd sizes, and n_positions = 64: the longest test sequence fills it.
    "distinct": dict(vocab_size=300, n_positions=64, n_embd=48, n_layer=3, n_head=3, n_experts=6, k=3,
                     experts_embedding_dim=8, process_dim=12, hypernet_input=6,
                     hypernetwork_bottleneck=10, layer_emb_dim=3, adapter_dim=5),
    # GPT-2 small with the authors' published HyperMoE settings; for benchmarks only.
    "gpt2-small-moe": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                           n_experts=8, k=2, experts_embedding_dim=128, process_dim=128,
                           hypernet_input=128, hypernetwork_bottleneck=128, layer_emb_dim=10,
                           adapter_dim=64),
}

TEST_PRESETS = ("n8k2", "n8k1", "n16k2", "plain", "distinct")


def preset_config(name: str) -> HyperMoEConfig:
    if name not in PRESETS:
        raise KeyError(f"unknown preset '{name}' (known: {', '.join(PRESETS)})")
    return HyperMoEConfig(**PRESETS[name]).validate()
