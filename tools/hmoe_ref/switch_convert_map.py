"""From the authors' Switch Transformer HyperMoE checkpoint names (Hugging Face's
SwitchTransformersForConditionalGeneration plus their HyperMoE modules) to the .hmoe
tensors of a SWITCH_HYPERMOE file: which tensors a checkpoint must have, with which
shapes, which it may carry unused, and how each file tensor is made from them.

This module is the one place on the Python side that lists the file's Switch tensors.
Names, shapes and config values are checked before anything is written, and each
refusal names the tensor or field.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, List, Mapping, Tuple

import numpy as np

from .convert_map import ConversionError
from .file_layout import F32
from .hmoe_writer import PlannedTensor
from .switch_config import SwitchConfig

SHARED = "shared.weight"
EMBED_ALIASES = ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight")
LM_HEAD = "lm_head.weight"
DEFAULT_N_POSITIONS = 512

# The stacks: (checkpoint prefix, file prefix, index of the FF sub-layer in a block).
_STACKS = (("encoder", "enc", 1), ("decoder", "dec", 2))

# Tensors inference never reads; ignored by name only.
_ALWAYS_UNUSED = [
    r"(encoder|decoder)\.block\.\d+\.layer\.[12]\.mlp\.adapter_layer\.adapter_(down|up)_manual\.(weight|bias)",
]
# Without the HyperExpert (experts_embedding or use_hypernet false), the authors' code may
# still save the (untrained) generator and expert-embedding modules.
_UNUSED_WITHOUT_HYPER = [
    r"(encoder|decoder)\.block\.\d+\.layer\.[12]\.mlp\.n_experts_embedding\.weight",
    r"(encoder|decoder)\.block\.\d+\.layer\.[12]\.mlp\.embedding_process\.[02]\.(weight|bias)",
    r"(encoder|decoder)\.param_gen\..+",
]
_GENERATOR_PARTS = ("linear1", "weight_down", "weight_up", "bias_down", "bias_up")


def _n_blocks(cfg: SwitchConfig, stack: str) -> int:
    return cfg.num_decoder_layers if stack == "decoder" else cfg.num_layers


def expected_shapes(cfg: SwitchConfig) -> Dict[str, Tuple[int, ...]]:
    """Every checkpoint tensor inference reads, with its shape (the shared embedding's
    aliases and a tied lm_head aside)."""
    d, V, N, f, inner = cfg.d_model, cfg.vocab_size, cfg.num_experts, cfg.d_ff, cfg.inner_dim
    s: Dict[str, Tuple[int, ...]] = {SHARED: (V, d)}
    if not cfg.tie_word_embeddings:
        s[LM_HEAD] = (V, d)
    for stack, _, ff in _STACKS:
        decoder = stack == "decoder"
        sparse = set(cfg.sparse_blocks(decoder))
        s[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = (
            cfg.relative_attention_num_buckets, cfg.num_heads)
        for i in range(_n_blocks(cfg, stack)):
            blk = f"{stack}.block.{i}.layer."
            att = blk + "0.SelfAttention."
            s.update({blk + "0.layer_norm.weight": (d,), att + "q.weight": (inner, d), att + "k.weight": (inner, d),
                      att + "v.weight": (inner, d), att + "o.weight": (d, inner)})
            if decoder:
                x = blk + "1.EncDecAttention."
                s.update({blk + "1.layer_norm.weight": (d,), x + "q.weight": (inner, d), x + "k.weight": (inner, d),
                          x + "v.weight": (inner, d), x + "o.weight": (d, inner)})
            mlp = f"{blk}{ff}.mlp."
            s[f"{blk}{ff}.layer_norm.weight"] = (d,)
            if i not in sparse:
                s.update({mlp + "wi.weight": (f, d), mlp + "wo.weight": (d, f)})
                continue
            s[mlp + "router.classifier.weight"] = (N, d)
            if cfg.router_bias:
                s[mlp + "router.classifier.bias"] = (N,)
            for j in range(N):
                s.update({f"{mlp}experts.expert_{j}.wi.weight": (f, d), f"{mlp}experts.expert_{j}.wo.weight": (d, f)})
            if cfg.hyper:
                s.update({
                    mlp + "n_experts_embedding.weight": (N, cfg.experts_embedding_dim),
                    mlp + "embedding_process.0.weight": (cfg.process_dim, cfg.experts_embedding_dim),
                    mlp + "embedding_process.0.bias": (cfg.process_dim,),
                    mlp + "embedding_process.2.weight": (cfg.hypernet_input, cfg.process_dim),
                    mlp + "embedding_process.2.bias": (cfg.hypernet_input,),
                })
        s[f"{stack}.final_layer_norm.weight"] = (d,)
        if cfg.hyper:
            b, Hb = cfg.adapter_dim, cfg.hypernetwork_bottleneck
            g = f"{stack}.param_gen."
            s.update({
                g + "layer_embed.weight": (_n_blocks(cfg, stack), cfg.layer_emb_dim),
                g + "decoder.linear1.weight": (Hb, cfg.hypernet_input + cfg.layer_emb_dim),
                g + "decoder.linear1.bias": (Hb,),
                g + "decoder.weight_down.weight": (d * b, Hb), g + "decoder.weight_down.bias": (d * b,),
                g + "decoder.weight_up.weight": (d * b, Hb), g + "decoder.weight_up.bias": (d * b,),
                g + "decoder.bias_down.weight": (b, Hb), g + "decoder.bias_down.bias": (b,),
                g + "decoder.bias_up.weight": (d, Hb), g + "decoder.bias_up.bias": (d,),
            })
    return s


def with_shared_embedding(tensors: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The checkpoint's tensors with 'shared.weight' present when only an alias of it
    (a stack's embed_tokens) was saved."""
    out = dict(tensors)
    if SHARED not in out:
        for alias in EMBED_ALIASES:
            if alias in out:
                out[SHARED] = out[alias]
                break
    return out


def check_tensors(cfg: SwitchConfig, tensors: Mapping[str, np.ndarray]) -> None:
    """Refuses missing tensors, wrong shapes, unknown tensors, aliases that differ from
    the shared embedding and a tied head that is not it, all named in one message (a
    renamed tensor is both missing and unknown)."""
    tensors = with_shared_embedding(tensors)
    want = expected_shapes(cfg)
    unused = [re.compile(p) for p in _ALWAYS_UNUSED + ([] if cfg.hyper else _UNUSED_WITHOUT_HYPER)]
    problems: List[str] = []
    for name, shape in want.items():
        if name not in tensors:
            what = " (the head is untied: tie_word_embeddings is false)" if name == LM_HEAD else ""
            problems.append(f"lacks tensor '{name}' (shape {list(shape)}){what}")
        elif tuple(tensors[name].shape) != shape:
            problems.append(f"tensor '{name}' has shape {list(tensors[name].shape)}, expected {list(shape)}")
        elif not np.issubdtype(tensors[name].dtype, np.floating):
            problems.append(f"tensor '{name}' has dtype {tensors[name].dtype}, expected a float type")
    shared = tensors.get(SHARED)
    for name, a in tensors.items():
        if name in want:
            continue
        if name in EMBED_ALIASES or name == LM_HEAD:  # LM_HEAD here means tied
            role = "the tied head" if name == LM_HEAD else "an alias of the shared embedding"
            if shared is None or tuple(a.shape) != tuple(shared.shape):
                problems.append(f"tensor '{name}' ({role}) has shape {list(a.shape)}, expected "
                                f"{list(want[SHARED])} like '{SHARED}'")
            elif not np.array_equal(a, shared):
                why = ("tie_word_embeddings is true (or absent), so the head must be the shared embedding"
                       if name == LM_HEAD else "the model has one embedding table")
                problems.append(f"tensor '{name}' differs from '{SHARED}': {why}")
        elif not any(p.fullmatch(name) for p in unused):
            problems.append(f"has unknown tensor '{name}' (shape {list(a.shape)})")
    if problems:
        shown = problems[:8] + ([f"... and {len(problems) - 8} more"] if len(problems) > 8 else [])
        raise ConversionError("checkpoint " + "; ".join(shown))


def plan_tensors(cfg: SwitchConfig, src: Mapping[str, np.ndarray], matrix_dtype: int) -> List[PlannedTensor]:
    """The file's tensors, in order: tok_embd, [lm_head], then per stack its relative
    bias table, its blocks, its final norm and its generator. Matrices take
    `matrix_dtype`; vectors (norms, biases), the relative bias tables, the expert and
    layer embeddings and the router stay f32 (the router's choice is discrete: rounding
    would flip near-ties against the reference)."""
    src = with_shared_embedding(src)
    plan: List[PlannedTensor] = []
    mat = matrix_dtype

    def f32(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float32)

    def add(name: str, dtype: int, shape: Tuple[int, ...], make: Callable[[], np.ndarray]) -> None:
        plan.append(PlannedTensor(name, dtype, tuple(shape), make))

    def copy(name: str, key: str, dtype: int = F32) -> None:
        a = src[key]
        add(name, dtype, a.shape, lambda: f32(a))

    def rows(name: str, keys: List[str], dtype: int) -> None:  # matrices stacked along their rows
        arrays = [src[k] for k in keys]
        shape = (sum(a.shape[0] for a in arrays),) + tuple(arrays[0].shape[1:])
        add(name, dtype, shape, lambda: np.concatenate([f32(a) for a in arrays], axis=0))

    def stacked(name: str, keys: List[str], dtype: int) -> None:  # [N, out, in]
        arrays = [src[k] for k in keys]
        add(name, dtype, (len(keys),) + tuple(arrays[0].shape), lambda: np.stack([f32(a) for a in arrays]))

    copy("tok_embd", SHARED, mat)
    if not cfg.tie_word_embeddings:
        copy("lm_head", LM_HEAD, mat)
    for stack, short, ff in _STACKS:
        decoder = stack == "decoder"
        sparse = set(cfg.sparse_blocks(decoder))
        copy(f"{short}.rel_bias", f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight")
        for i in range(_n_blocks(cfg, stack)):
            blk, out = f"{stack}.block.{i}.layer.", f"{short}.blk.{i}."
            att = blk + "0.SelfAttention."
            copy(out + "ln1.weight", blk + "0.layer_norm.weight")
            rows(out + "attn.qkv.weight", [att + "q.weight", att + "k.weight", att + "v.weight"], mat)
            copy(out + "attn.out.weight", att + "o.weight", mat)
            if decoder:
                x = blk + "1.EncDecAttention."
                copy(out + "ln_cross.weight", blk + "1.layer_norm.weight")
                copy(out + "cross.q.weight", x + "q.weight", mat)
                rows(out + "cross.kv.weight", [x + "k.weight", x + "v.weight"], mat)
                copy(out + "cross.out.weight", x + "o.weight", mat)
            copy(out + "ln2.weight", f"{blk}{ff}.layer_norm.weight")
            mlp = f"{blk}{ff}.mlp."
            if i not in sparse:
                copy(out + "ffn.wi.weight", mlp + "wi.weight", mat)
                copy(out + "ffn.wo.weight", mlp + "wo.weight", mat)
                continue
            copy(out + "moe.gate", mlp + "router.classifier.weight")
            if cfg.router_bias:
                copy(out + "moe.gate_bias", mlp + "router.classifier.bias")
            experts = [f"{mlp}experts.expert_{j}." for j in range(cfg.num_experts)]
            stacked(out + "moe.fc.weight", [e + "wi.weight" for e in experts], mat)
            stacked(out + "moe.proj.weight", [e + "wo.weight" for e in experts], mat)
            if cfg.hyper:
                copy(out + "hyper.expert_embd", mlp + "n_experts_embedding.weight")
                copy(out + "hyper.proc0.weight", mlp + "embedding_process.0.weight", mat)
                copy(out + "hyper.proc0.bias", mlp + "embedding_process.0.bias")
                copy(out + "hyper.proc2.weight", mlp + "embedding_process.2.weight", mat)
                copy(out + "hyper.proc2.bias", mlp + "embedding_process.2.bias")
        copy(f"{short}.norm.weight", f"{stack}.final_layer_norm.weight")
        if cfg.hyper:
            g = f"{stack}.param_gen."
            copy(f"{short}.hyper.layer_embd", g + "layer_embed.weight")
            for part in _GENERATOR_PARTS:
                copy(f"{short}.hyper.{part}.weight", f"{g}decoder.{part}.weight", mat)
                copy(f"{short}.hyper.{part}.bias", f"{g}decoder.{part}.bias")
    return plan


def hparams_of(cfg: SwitchConfig, n_positions: int = DEFAULT_N_POSITIONS) -> Dict[str, object]:
    """The schema's HParams of a SWITCH_HYPERMOE file. use_hypernet is the HyperExpert
    actually running (use_hypernet and experts_embedding); without it the hypernetwork's
    dimensions are written as 0. n_positions is the longest encoder input and decoder
    context the file promises (T5 has no position table: a converter option)."""
    hp: Dict[str, object] = dict(
        vocab_size=cfg.vocab_size, n_positions=n_positions, n_embd=cfg.d_model, n_layer=cfg.num_layers,
        n_head=cfg.num_heads, layer_norm_epsilon=float(cfg.layer_norm_epsilon), n_experts=cfg.num_experts,
        top_k=1, use_hypernet=cfg.hyper, d_kv=cfg.d_kv, d_ff=cfg.d_ff, n_decoder_layer=cfg.num_decoder_layers,
        encoder_sparse_step=cfg.encoder_sparse_step, decoder_sparse_step=cfg.decoder_sparse_step,
        expert_capacity=cfg.expert_capacity, router_bias=cfg.router_bias,
        relative_attention_num_buckets=cfg.relative_attention_num_buckets,
        relative_attention_max_distance=cfg.relative_attention_max_distance,
        tie_word_embeddings=cfg.tie_word_embeddings, decoder_start_token_id=cfg.decoder_start_token_id)
    for key in ("experts_embedding_dim", "process_dim", "hypernet_input", "hypernetwork_bottleneck",
                "layer_emb_dim", "adapter_dim"):
        hp[key] = getattr(cfg, key) if cfg.hyper else 0
    return hp


__all__ = ["ConversionError", "expected_shapes", "check_tensors", "plan_tensors", "hparams_of",
           "with_shared_embedding", "DEFAULT_N_POSITIONS"]
