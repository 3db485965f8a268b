"""From the authors' checkpoint names (formats/TENSORS.md) to the .hmoe tensors
(formats/TENSORS.md): which tensors a checkpoint must have, with which shapes, which
it may carry unused, and how each .hmoe tensor is made from them.

Names, shapes and config values are checked before anything is written, and each
refusal names the tensor or field.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, List, Mapping, Tuple

import numpy as np

from .config import HyperMoEConfig
from .file_layout import F16, F32
from .hmoe_writer import PlannedTensor


class ConversionError(ValueError):
    pass


# Tensors inference never reads; a converter ignores these, by name only.
_ALWAYS_UNUSED = [
    r"transformer\.h\.\d+\.mlp\.w_noise",          # noisy gating, training only
    r"transformer\.h\.\d+\.mlp\.(mean|std)",       # its normal distribution's buffers
    r"transformer\.h\.\d+\.mlp\.adapter_layer\.adapter_(down|up)_manual\.(weight|bias)",
    # Older Hugging Face GPT-2 saves its causal-mask buffers with the weights.
    r"transformer\.h\.\d+\.attn\.(bias|masked_bias)",
]
# With the hypernetwork off, the authors' code may still save its (untrained) modules.
_UNUSED_WITHOUT_HYPER = [
    r"transformer\.h\.\d+\.mlp\.n_experts_embedding\.weight",
    r"transformer\.h\.\d+\.mlp\.embedding_process\.[02]\.(weight|bias)",
    r"transformer\.param_gen\..+",
]


def expected_shapes(cfg: HyperMoEConfig) -> Dict[str, Tuple[int, ...]]:
    """Every checkpoint tensor inference reads, with its shape (lm_head.weight aside)."""
    d, N, V, P, L = cfg.n_embd, cfg.n_experts, cfg.vocab_size, cfg.n_positions, cfg.n_layer
    s: Dict[str, Tuple[int, ...]] = {
        "transformer.wte.weight": (V, d),
        "transformer.wpe.weight": (P, d),
        "transformer.ln_f.weight": (d,),
        "transformer.ln_f.bias": (d,),
    }
    for i in range(L):
        h = f"transformer.h.{i}."
        s.update({
            h + "ln_1.weight": (d,), h + "ln_1.bias": (d,),
            h + "ln_2.weight": (d,), h + "ln_2.bias": (d,),
            h + "attn.c_attn.weight": (d, 3 * d), h + "attn.c_attn.bias": (3 * d,),
            h + "attn.c_proj.weight": (d, d), h + "attn.c_proj.bias": (d,),
            h + "mlp.w_gate": (d, N),
        })
        for j in range(N):
            e = f"{h}mlp.experts.expert_{j}."
            s.update({e + "c_fc.weight": (d, 4 * d), e + "c_fc.bias": (4 * d,),
                      e + "c_proj.weight": (4 * d, d), e + "c_proj.bias": (d,)})
        if cfg.hyper:
            m = h + "mlp."
            s.update({
                m + "n_experts_embedding.weight": (N, cfg.experts_embedding_dim),
                m + "embedding_process.0.weight": (cfg.process_dim, cfg.experts_embedding_dim),
                m + "embedding_process.0.bias": (cfg.process_dim,),
                m + "embedding_process.2.weight": (cfg.hypernet_input, cfg.process_dim),
                m + "embedding_process.2.bias": (cfg.hypernet_input,),
            })
    if cfg.hyper:
        b, H = cfg.adapter_dim, cfg.hypernetwork_bottleneck
        g = "transformer.param_gen."
        s.update({
            g + "layer_embed.weight": (L, cfg.layer_emb_dim),
            g + "decoder.linear1.weight": (H, cfg.hypernet_input + cfg.layer_emb_dim),
            g + "decoder.linear1.bias": (H,),
            g + "decoder.weight_up.weight": (d * b, H), g + "decoder.weight_up.bias": (d * b,),
            g + "decoder.weight_down.weight": (d * b, H), g + "decoder.weight_down.bias": (d * b,),
            g + "decoder.bias_up.weight": (d, H), g + "decoder.bias_up.bias": (d,),
            g + "decoder.bias_down.weight": (b, H), g + "decoder.bias_down.bias": (b,),
        })
    return s


def check_tensors(cfg: HyperMoEConfig, tensors: Mapping[str, np.ndarray]) -> None:
    """Refuses missing tensors, wrong shapes, unknown tensors and an untied head, all
    named in one message (a renamed tensor is both missing and unknown)."""
    want = expected_shapes(cfg)
    unused = [re.compile(p) for p in _ALWAYS_UNUSED + ([] if cfg.hyper else _UNUSED_WITHOUT_HYPER)]
    problems: List[str] = []
    for name, shape in want.items():
        if name not in tensors:
            problems.append(f"lacks tensor '{name}' (shape {list(shape)})")
        elif tuple(tensors[name].shape) != shape:
            problems.append(f"tensor '{name}' has shape {list(tensors[name].shape)}, expected {list(shape)}")
        elif not np.issubdtype(tensors[name].dtype, np.floating):
            problems.append(f"tensor '{name}' has dtype {tensors[name].dtype}, expected a float type")
    for name, a in tensors.items():
        if name in want:
            continue
        if name == "lm_head.weight":
            wte = tensors.get("transformer.wte.weight")
            if wte is None or tuple(a.shape) != tuple(wte.shape):
                problems.append(f"tensor 'lm_head.weight' has shape {list(a.shape)}, expected "
                                f"{list(want['transformer.wte.weight'])} (tied to transformer.wte.weight)")
            elif not np.array_equal(a, wte):
                problems.append("tensor 'lm_head.weight' differs from 'transformer.wte.weight': "
                                "GPT-2 ties them, an untied head is not supported")
        elif not any(p.fullmatch(name) for p in unused):
            problems.append(f"has unknown tensor '{name}' (shape {list(a.shape)})")
    if problems:
        shown = problems[:8] + ([f"... and {len(problems) - 8} more"] if len(problems) > 8 else [])
        raise ConversionError("checkpoint " + "; ".join(shown))


def plan_tensors(cfg: HyperMoEConfig, src: Mapping[str, np.ndarray], matrix_dtype: int) -> List[PlannedTensor]:
    """The .hmoe tensors in TENSORS.md order. Matrices take `matrix_dtype`; vectors
    (biases, norms, expert and layer embeddings) and the router stay f32: the router's
    choice is discrete, and f16 rounding would flip near-ties against the reference."""
    plan: List[PlannedTensor] = []

    def add(name: str, dtype: int, shape: Tuple[int, ...], make: Callable[[], np.ndarray]) -> None:
        plan.append(PlannedTensor(name, dtype, tuple(shape), make))

    def f32(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float32)

    def copy(name: str, key: str, dtype: int = F32) -> None:
        a = src[key]
        add(name, dtype, a.shape, lambda: f32(a))

    def transposed(name: str, key: str, dtype: int) -> None:  # Conv1D [in, out] -> [out, in]
        a = src[key]
        add(name, dtype, a.shape[::-1], lambda: f32(a).T)

    def stacked(name: str, keys: List[str], dtype: int, transpose: bool) -> None:
        arrays = [src[k] for k in keys]
        shape = (len(keys),) + (arrays[0].shape[::-1] if transpose else arrays[0].shape)
        add(name, dtype, shape, lambda: np.stack([f32(a).T if transpose else f32(a) for a in arrays]))

    mat = matrix_dtype
    copy("tok_embd", "transformer.wte.weight", mat)
    copy("pos_embd", "transformer.wpe.weight", mat)
    for i in range(cfg.n_layer):
        h, blk = f"transformer.h.{i}.", f"blk.{i}."
        copy(blk + "ln1.weight", h + "ln_1.weight")
        copy(blk + "ln1.bias", h + "ln_1.bias")
        transposed(blk + "attn.qkv.weight", h + "attn.c_attn.weight", mat)
        copy(blk + "attn.qkv.bias", h + "attn.c_attn.bias")
        transposed(blk + "attn.out.weight", h + "attn.c_proj.weight", mat)
        copy(blk + "attn.out.bias", h + "attn.c_proj.bias")
        copy(blk + "ln2.weight", h + "ln_2.weight")
        copy(blk + "ln2.bias", h + "ln_2.bias")
        transposed(blk + "moe.gate", h + "mlp.w_gate", F32)
        ex = [f"{h}mlp.experts.expert_{j}." for j in range(cfg.n_experts)]
        stacked(blk + "moe.fc.weight", [e + "c_fc.weight" for e in ex], mat, transpose=True)
        stacked(blk + "moe.fc.bias", [e + "c_fc.bias" for e in ex], F32, transpose=False)
        stacked(blk + "moe.proj.weight", [e + "c_proj.weight" for e in ex], mat, transpose=True)
        stacked(blk + "moe.proj.bias", [e + "c_proj.bias" for e in ex], F32, transpose=False)
        if cfg.hyper:
            m = h + "mlp."
            copy(blk + "hyper.expert_embd", m + "n_experts_embedding.weight")
            copy(blk + "hyper.proc0.weight", m + "embedding_process.0.weight", mat)
            copy(blk + "hyper.proc0.bias", m + "embedding_process.0.bias")
            copy(blk + "hyper.proc2.weight", m + "embedding_process.2.weight", mat)
            copy(blk + "hyper.proc2.bias", m + "embedding_process.2.bias")
    if cfg.hyper:
        g = "transformer.param_gen."
        copy("hyper.layer_embd", g + "layer_embed.weight")
        for part in ("linear1", "weight_down", "weight_up", "bias_down", "bias_up"):
            copy(f"hyper.{part}.weight", f"{g}decoder.{part}.weight", mat)
            copy(f"hyper.{part}.bias", f"{g}decoder.{part}.bias")
    copy("ln_f.weight", "transformer.ln_f.weight")
    copy("ln_f.bias", "transformer.ln_f.bias")
    return plan


def hparams_of(cfg: HyperMoEConfig) -> Dict[str, object]:
    """The schema's HParams. With the hypernetwork off its dimensions are written as 0,
    so nothing downstream can mistake them for a model's."""
    hp: Dict[str, object] = dict(
        vocab_size=cfg.vocab_size, n_positions=cfg.n_positions, n_embd=cfg.n_embd,
        n_layer=cfg.n_layer, n_head=cfg.n_head, layer_norm_epsilon=float(cfg.layer_norm_epsilon),
        n_experts=cfg.n_experts, top_k=cfg.k, use_hypernet=cfg.hyper)
    for key in ("experts_embedding_dim", "process_dim", "hypernet_input", "hypernetwork_bottleneck",
                "layer_emb_dim", "adapter_dim"):
        hp[key] = getattr(cfg, key) if cfg.hyper else 0
    return hp


__all__ = ["ConversionError", "expected_shapes", "check_tensors", "plan_tensors", "hparams_of", "F16", "F32"]
