"""Named Switch HyperMoE shapes for make_checkpoint.py --arch switch: small ones for
tests, switch-base-8's for benchmarks."""
from __future__ import annotations

from typing import Dict

from .switch_config import SwitchConfig

_HYPER = dict(use_hypernet=True, experts_embedding=True, experts_embedding_dim=16, process_dim=16,
              hypernet_input=16, hypernetwork_bottleneck=16, layer_emb_dim=4, adapter_dim=8)
# Test models: fast on a 2-core machine. 4 + 4 blocks with step 2: blocks 1 and 3 of each
# stack sparse, so layer indices 1 and 3 (not 0 and 1) reach the generator.
_SMALL = dict(vocab_size=320, d_model=64, d_kv=16, d_ff=96, num_layers=4, num_decoder_layers=4,
              num_heads=4, num_experts=6, expert_capacity=64, encoder_sparse_step=2,
              decoder_sparse_step=2, relative_attention_num_buckets=32, relative_attention_max_distance=128)

SWITCH_PRESETS: Dict[str, dict] = {
    # HyperMoE, tied head (rescaled by d**-0.5), capacity above any test length.
    "sw-tied": dict(_SMALL, **_HYPER),
    # Untied head, 8 experts, and stacks of different depth (4 encoder, 3 decoder blocks):
    # each generator's layer table has its own stack's length.
    "sw-untied": dict(_SMALL, **_HYPER, tie_word_embeddings=False, num_experts=8, num_decoder_layers=3),
    # The plain Switch Transformer (no HyperExpert).
    "sw-plain": dict(_SMALL, num_experts=4),
    # H * d_kv != d_model (3 * 20 = 60 vs 64), a router bias, every HyperMoE dimension
    # different, 5 + 5 blocks with step 3 (sparse blocks 1 and 4), 16 buckets up to 20.
    "sw-distinct": dict(vocab_size=300, d_model=64, d_kv=20, d_ff=80, num_layers=5, num_decoder_layers=5,
                        num_heads=3, num_experts=5, expert_capacity=64, encoder_sparse_step=3,
                        decoder_sparse_step=3, router_bias=True, relative_attention_num_buckets=16,
                        relative_attention_max_distance=20, use_hypernet=True, experts_embedding=True,
                        experts_embedding_dim=8, process_dim=12, hypernet_input=6,
                        hypernetwork_bottleneck=10, layer_emb_dim=3, adapter_dim=5),
    # Capacity 2 with 4 experts: binds in the encoder from a few tokens on, and in any
    # decoder call of more than a few tokens.
    "sw-capacity": dict(_SMALL, **_HYPER, num_experts=4, expert_capacity=2),
    # google/switch-base-8's dimensions with the authors' published HyperMoE settings;
    # for benchmarks only (646.5 M parameters: make_checkpoint.py takes about 2 minutes and
    # 3 GB of memory, the .bin and the f32 .hmoe 2.6 GB each).
    "switch-base-8": dict(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12,
                          num_decoder_layers=12, num_heads=12, num_experts=8, expert_capacity=64,
                          encoder_sparse_step=2, decoder_sparse_step=2, use_hypernet=True,
                          experts_embedding=True, experts_embedding_dim=128, process_dim=128,
                          hypernet_input=128, hypernetwork_bottleneck=128, layer_emb_dim=10,
                          adapter_dim=64),
}

SWITCH_TEST_PRESETS = ("sw-tied", "sw-untied", "sw-plain", "sw-distinct", "sw-capacity")


def switch_preset_config(name: str) -> SwitchConfig:
    if name not in SWITCH_PRESETS:
        raise KeyError(f"unknown Switch preset '{name}' (known: {', '.join(SWITCH_PRESETS)})")
    return SwitchConfig.from_dict(dict(SWITCH_PRESETS[name], router_jitter_noise=0.0))
