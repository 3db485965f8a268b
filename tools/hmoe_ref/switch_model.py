"""PyTorch reference of Switch Transformer HyperMoE (a T5-style encoder-decoder with a
Mixture-of-Experts feed-forward in its sparse blocks and a HyperExpert beside it), the
numbers the C++ runtime must reproduce.

Written from the inference math of the authors' code, including its unusual parts:
  - T5 RMS norm (mean of squares in fp32, no mean, no bias);
  - attention without 1/sqrt(d_kv) scaling; one relative position bias per stack call,
    computed from block 0's table (bidirectional buckets in the encoder, causal in the
    decoder) and shared by every block; cross-attention has no position bias;
  - block i of a stack is sparse iff step > 0 and i % step == 1;
  - top-1 router in fp32; expert capacity is a cumsum over the tokens of ONE call, per
    sequence, in position order; a token over capacity passes its normed input through;
    the expert output (or the pass-through) is scaled by the top-1 probability;
  - the HyperExpert is generated from the SUM of the N-1 unselected experts' embeddings
    (unselected by the argmax before the capacity mask), by one generator per stack
    indexed by the block index within the stack, and is not scaled;
  - a tied LM head rescales the decoder output by d_model**-0.5 first.

For training on padded batches, `attention_mask` (1 = token, 0 = padding) hides the
padding keys from the encoder's self-attention and from the decoder's cross-attention, as
Hugging Face's model does (a large negative number added to the scores); padding still
runs through the blocks and counts toward expert capacity, as in the authors' code.
Without a mask (the runtime's case: one unpadded sequence) nothing changes.

Module and parameter names are those of the authors' (and Hugging Face's) model, so
`state_dict()` is a checkpoint in their layout, including the tensors inference never
reads (adapter_layer.adapter_*_manual, the embed_tokens aliases). Written for clarity
over speed; runs on the CPU in fp32 (or fp64 after `.double()`).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .switch_config import SwitchConfig

# Per decoder block: (self k, self v, cross k, cross v), each [B, H, len, d_kv].
DecoderCache = Tuple[Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], ...]


def _accumulation(x: torch.Tensor) -> torch.Tensor:
    """fp32 for fp32 (and lower) inputs, as the authors' code; fp64 stays fp64 so that
    `.double()` gives a true fp64 reference."""
    return x if x.dtype == torch.float64 else x.float()


def padding_bias(attention_mask: Optional[torch.Tensor], dtype: torch.dtype) -> Optional[torch.Tensor]:
    """[B, S] mask (1 = token, 0 = padding) -> [B, 1, 1, S] added to the attention scores:
    0 for tokens, the dtype's most negative number for padding (Hugging Face's extended
    attention mask), so padding keys get exactly zero attention."""
    if attention_mask is None:
        return None
    return ((1.0 - attention_mask.to(dtype)) * torch.finfo(dtype).min)[:, None, None, :]


def relative_position_bucket(relative_position: torch.Tensor, bidirectional: bool,
                             num_buckets: int, max_distance: int) -> torch.Tensor:
    """T5's bucket of key_pos - query_pos. Small distances get a bucket each; larger ones
    log-spaced buckets up to max_distance. The log arithmetic is fp32 tensor math and the
    result is truncated to an integer, exactly as the authors' code does (the bucket
    boundaries depend on it)."""
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative_position > 0).to(torch.long) * num_buckets
        n = torch.abs(relative_position)
    else:
        n = -torch.min(relative_position, torch.zeros_like(relative_position))  # future keys: 0
    max_exact = num_buckets // 2
    is_small = n < max_exact
    # n = 0 gives log(0) = -inf here; torch.where below never picks it.
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, n, large)


class SwitchLayerNorm(nn.Module):
    """T5's RMS norm: w * x / sqrt(mean(x^2) + eps), no mean subtraction, no bias."""

    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.variance_epsilon = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = _accumulation(x).pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.variance_epsilon))


class Attention(nn.Module):
    """T5 attention: no bias in the projections, no 1/sqrt(d_kv) on the scores."""

    def __init__(self, cfg: SwitchConfig, has_relative_attention_bias: bool, is_decoder: bool):
        super().__init__()
        self.n_heads, self.d_kv = cfg.num_heads, cfg.d_kv
        self.is_decoder = is_decoder
        self.num_buckets = cfg.relative_attention_num_buckets
        self.max_distance = cfg.relative_attention_max_distance
        inner = cfg.inner_dim
        self.q = nn.Linear(cfg.d_model, inner, bias=False)
        self.k = nn.Linear(cfg.d_model, inner, bias=False)
        self.v = nn.Linear(cfg.d_model, inner, bias=False)
        self.o = nn.Linear(inner, cfg.d_model, bias=False)
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.num_buckets, self.n_heads)

    def position_bias(self, n_past: int, T: int) -> torch.Tensor:
        """[1, H, T, n_past + T]: query n_past + i against keys 0 .. n_past + T - 1; the
        decoder's causal mask (future keys -inf) included."""
        total = n_past + T
        query = torch.arange(n_past, total, dtype=torch.long)[:, None]
        key = torch.arange(total, dtype=torch.long)[None, :]
        buckets = relative_position_bucket(key - query, bidirectional=not self.is_decoder,
                                           num_buckets=self.num_buckets, max_distance=self.max_distance)
        bias = self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)
        if self.is_decoder:
            bias = bias.masked_fill(key > query, float("-inf"))
        return bias

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        return x.view(B, -1, self.n_heads, self.d_kv).transpose(1, 2)

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                bias: Optional[torch.Tensor]) -> torch.Tensor:
        """x [B, T, d] (normed); k, v [B, H, S, d_kv]; bias broadcastable to [B, H, T, S]."""
        B, T, _ = x.shape
        scores = self.heads(self.q(x)) @ k.transpose(-1, -2)
        if bias is not None:
            scores = scores + bias
        probs = torch.softmax(scores, dim=-1)
        out = (probs @ v).transpose(1, 2).reshape(B, T, self.n_heads * self.d_kv)
        return self.o(out)


class LayerSelfAttention(nn.Module):
    def __init__(self, cfg: SwitchConfig, has_relative_attention_bias: bool, is_decoder: bool):
        super().__init__()
        self.SelfAttention = Attention(cfg, has_relative_attention_bias, is_decoder)
        self.layer_norm = SwitchLayerNorm(cfg.d_model, cfg.layer_norm_epsilon)

    def forward(self, h, bias, past: Optional[Tuple[torch.Tensor, torch.Tensor]]):
        att = self.SelfAttention
        x = self.layer_norm(h)
        k, v = att.heads(att.k(x)), att.heads(att.v(x))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        return h + att(x, k, v, bias), (k, v)


class LayerCrossAttention(nn.Module):
    def __init__(self, cfg: SwitchConfig):
        super().__init__()
        self.EncDecAttention = Attention(cfg, False, True)
        self.layer_norm = SwitchLayerNorm(cfg.d_model, cfg.layer_norm_epsilon)

    def forward(self, h, enc_out: torch.Tensor, past: Optional[Tuple[torch.Tensor, torch.Tensor]],
                pad_bias: Optional[torch.Tensor] = None):
        att = self.EncDecAttention
        if past is None:  # K/V of the encoder output: computed at the first call, then cached
            past = (att.heads(att.k(enc_out)), att.heads(att.v(enc_out)))
        return h + att(self.layer_norm(h), past[0], past[1], pad_bias), past


class DenseActDense(nn.Module):
    """relu(x Wi^T) Wo^T, no biases: the dense blocks' feed-forward and each expert."""

    def __init__(self, cfg: SwitchConfig):
        super().__init__()
        self.wi = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.wo = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wo(torch.relu(self.wi(x)))


class Top1Router(nn.Module):
    def __init__(self, cfg: SwitchConfig):
        super().__init__()
        self.classifier = nn.Linear(cfg.d_model, cfg.num_experts, bias=cfg.router_bias)
        self.expert_capacity = cfg.expert_capacity

    def forward(self, x: torch.Tensor):
        """x [B, T, d] -> (expert [B, T] long, kept [B, T] bool, pmax [B, T, 1], logits [B, T, N]).
        Capacity: token t keeps its expert e_t iff at most C tokens among 0..t of this call
        and row chose e_t."""
        xa = _accumulation(x)
        w, b = self.classifier.weight, self.classifier.bias
        logits = F.linear(xa, w.to(xa.dtype), None if b is None else b.to(xa.dtype))
        probs = torch.softmax(logits, dim=-1)
        expert = torch.argmax(probs, dim=-1)                     # first index on ties
        one_hot = F.one_hot(expert, num_classes=probs.shape[-1])
        priority = torch.cumsum(one_hot, dim=-2)                # per row, in position order
        kept = (priority * one_hot).sum(-1) <= self.expert_capacity
        pmax = probs.max(dim=-1, keepdim=True).values.to(x.dtype)
        return expert, kept, pmax, logits


class AdapterLayer(nn.Module):
    """Holds the authors' `adapter_*_manual` pair, which inference with the hypernetwork
    never uses; present so the state dict has the real checkpoints' layout."""

    def __init__(self, d: int, b: int):
        super().__init__()
        self.adapter_down_manual = nn.Linear(d, b)
        self.adapter_up_manual = nn.Linear(b, d)


class SimpleGenerator(nn.Module):
    """The hypernetwork: [q ; layer embedding] -> (weight_up, weight_down, bias_up, bias_down)."""

    def __init__(self, cfg: SwitchConfig):
        super().__init__()
        d, b, Hb = cfg.d_model, cfg.adapter_dim, cfg.hypernetwork_bottleneck
        self.linear1 = nn.Linear(cfg.hypernet_input + cfg.layer_emb_dim, Hb)
        self.weight_up = nn.Linear(Hb, d * b)
        self.weight_down = nn.Linear(Hb, d * b)
        self.bias_up = nn.Linear(Hb, d)
        self.bias_down = nn.Linear(Hb, b)


class ParameterGenerator(nn.Module):
    """One per stack, shared by its sparse blocks; the layer embedding (indexed by the
    block's index within the stack, dense blocks counted) tells the blocks apart."""

    def __init__(self, cfg: SwitchConfig, n_blocks: int):
        super().__init__()
        self.layer_embed = nn.Embedding(n_blocks, cfg.layer_emb_dim)
        self.decoder = SimpleGenerator(cfg)

    def adapters(self, q: torch.Tensor, layer: int, d: int, b: int):
        """q [M, I] -> Wd [M, d, b], bd [M, b], Wu [M, b, d], bu [M, d]."""
        g = self.decoder
        layer_vec = self.layer_embed.weight[layer].expand(q.shape[0], -1)
        s = torch.relu(g.linear1(torch.cat([q, layer_vec], dim=-1)))
        M = q.shape[0]
        return (g.weight_down(s).view(M, d, b), g.bias_down(s),
                g.weight_up(s).view(M, b, d), g.bias_up(s))


class SparseMLP(nn.Module):
    """Top-1 Switch MoE with capacity, and the HyperExpert."""

    def __init__(self, cfg: SwitchConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.d, self.n_experts, self.adapter_dim = cfg.d_model, cfg.num_experts, cfg.adapter_dim
        if cfg.use_hypernet:
            self.adapter_layer = AdapterLayer(cfg.d_model, cfg.adapter_dim)
        self.router = Top1Router(cfg)
        self.experts = nn.ModuleDict({f"expert_{j}": DenseActDense(cfg) for j in range(cfg.num_experts)})
        self.hyper = cfg.hyper
        if cfg.experts_embedding:
            self.n_experts_embedding = nn.Embedding(cfg.num_experts, cfg.experts_embedding_dim)
            self.embedding_process = nn.Sequential(
                nn.Linear(cfg.experts_embedding_dim, cfg.process_dim),
                nn.ReLU(),
                nn.Linear(cfg.process_dim, cfg.hypernet_input))
        self.last_dropped = 0  # tokens over capacity in the last call (for tests)
        # The router's outputs of the last call, as the authors' training losses read them
        # (switch_losses.py): the logits [B, T, N] (carrying the router's gradient when
        # autograd is on) and the expert index [B, T] of each token after the capacity
        # mask, where a dropped token reads as expert 0 (their argmax of an all-zero row).
        self.last_router_logits: Optional[torch.Tensor] = None
        self.last_routed_expert: Optional[torch.Tensor] = None

    def unselected_embedding_sum(self, expert: torch.Tensor) -> torch.Tensor:
        """expert [M] -> u [M, e]: the sum of the embeddings of the N-1 experts not
        selected, in ascending expert index."""
        N = self.n_experts
        idx = torch.arange(N).expand(expert.shape[0], N)
        unselected = idx[idx != expert[:, None]].view(-1, N - 1)
        return self.n_experts_embedding(unselected).sum(dim=-2)

    def hyper_expert_output(self, x: torch.Tensor, expert: torch.Tensor, param_gen: ParameterGenerator,
                            per_pattern: bool) -> torch.Tensor:
        """x [M, d], expert [M] -> A(x) = relu(x Wd + bd) Wu + bu with each token's
        generated weights (they depend only on the block and the selected expert)."""
        d, b = self.d, self.adapter_dim
        if not per_pattern:
            q = self.embedding_process(self.unselected_embedding_sum(expert))
            Wd, bd, Wu, bu = param_gen.adapters(q, self.layer_idx, d, b)
            hidden = torch.relu(torch.einsum("md,mdb->mb", x, Wd) + bd)
            return torch.einsum("mb,mbd->md", hidden, Wu) + bu
        # One HyperExpert per expert, generated once, then each expert's tokens as one product.
        patterns = torch.arange(self.n_experts)
        q = self.embedding_process(self.unselected_embedding_sum(patterns))
        Wd, bd, Wu, bu = param_gen.adapters(q, self.layer_idx, d, b)
        out = torch.empty_like(x)
        for j in range(self.n_experts):
            rows = (expert == j).nonzero(as_tuple=True)[0]
            if rows.numel():
                out[rows] = torch.relu(x[rows] @ Wd[j] + bd[j]) @ Wu[j] + bu[j]
        return out

    def forward(self, x: torch.Tensor, param_gen: Optional[ParameterGenerator],
                per_pattern: bool = False, hyper_enabled: bool = True) -> torch.Tensor:
        """x = the layer-normed FF input [B, T, d] -> pmax * (E(x) or x) [+ A(x)]."""
        expert, kept, pmax, logits = self.router(x)
        self.last_dropped = int((~kept).sum())
        self.last_router_logits = logits
        self.last_routed_expert = torch.where(kept, expert, torch.zeros_like(expert))
        out = x.clone()  # tokens over capacity keep their input
        for j in range(self.n_experts):  # ascending expert index
            rows = (expert == j) & kept
            if rows.any():
                out[rows] = self.experts[f"expert_{j}"](x[rows])
        out = pmax * out
        if self.hyper and hyper_enabled:
            B, T, d = x.shape
            a = self.hyper_expert_output(x.reshape(-1, d), expert.reshape(-1), param_gen, per_pattern)
            out = a.view(B, T, d) + out
        return out


class LayerFF(nn.Module):
    def __init__(self, cfg: SwitchConfig, sparse: bool, layer_idx: int):
        super().__init__()
        self.is_sparse = sparse
        self.mlp = SparseMLP(cfg, layer_idx) if sparse else DenseActDense(cfg)
        self.layer_norm = SwitchLayerNorm(cfg.d_model, cfg.layer_norm_epsilon)

    def forward(self, h, param_gen, per_pattern, hyper_enabled):
        x = self.layer_norm(h)
        if self.is_sparse:
            return h + self.mlp(x, param_gen, per_pattern, hyper_enabled)
        return h + self.mlp(x)


class Block(nn.Module):
    """Encoder: layer.0 self-attention, layer.1 FF. Decoder: layer.0 self, layer.1 cross, layer.2 FF."""

    def __init__(self, cfg: SwitchConfig, i: int, is_decoder: bool, sparse: bool):
        super().__init__()
        self.is_decoder = is_decoder
        self.layer = nn.ModuleList([LayerSelfAttention(cfg, i == 0, is_decoder)])
        if is_decoder:
            self.layer.append(LayerCrossAttention(cfg))
        self.layer.append(LayerFF(cfg, sparse, i))


class SwitchStack(nn.Module):
    def __init__(self, cfg: SwitchConfig, is_decoder: bool, shared: nn.Embedding):
        super().__init__()
        self.is_decoder = is_decoder
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.embed_tokens.weight = shared.weight  # an alias, saved under its own name too
        n = cfg.num_decoder_layers if is_decoder else cfg.num_layers
        sparse = set(cfg.sparse_blocks(is_decoder))
        self.block = nn.ModuleList([Block(cfg, i, is_decoder, i in sparse) for i in range(n)])
        self.final_layer_norm = SwitchLayerNorm(cfg.d_model, cfg.layer_norm_epsilon)
        if cfg.use_hypernet:
            self.param_gen = ParameterGenerator(cfg, n)

    def forward(self, ids: torch.Tensor, enc_out: Optional[torch.Tensor] = None,
                past: Optional[DecoderCache] = None, per_pattern: bool = False, hyper_enabled: bool = True,
                attention_mask: Optional[torch.Tensor] = None):
        """Encoder: ids [B, S] -> (final-normed output, None). Decoder: one call over ids
        [B, T] after the cached positions -> (final-normed output, the new cache).
        attention_mask [B, S] marks the encoder's tokens (1) and padding (0): the encoder's
        self-attention and the decoder's cross-attention skip padding keys."""
        T = ids.shape[1]
        n_past = past[0][0].shape[2] if past else 0
        h = self.embed_tokens(ids).to(self.final_layer_norm.weight.dtype)
        # Block 0's table gives every block's bias (and carries the causal mask).
        bias = self.block[0].layer[0].SelfAttention.position_bias(n_past, T).to(h.dtype)
        pad_bias = padding_bias(attention_mask, h.dtype)
        if pad_bias is not None and not self.is_decoder:
            bias = bias + pad_bias
        param_gen = getattr(self, "param_gen", None)
        presents = []
        for i, blk in enumerate(self.block):
            layer_past = past[i] if past else None
            h, self_kv = blk.layer[0](h, bias, layer_past[:2] if layer_past else None)
            if self.is_decoder:
                h, cross_kv = blk.layer[1](h, enc_out, layer_past[2:] if layer_past else None, pad_bias)
                presents.append(self_kv + cross_kv)
            h = blk.layer[-1](h, param_gen, per_pattern, hyper_enabled)
        return self.final_layer_norm(h), (tuple(presents) if self.is_decoder else None)


class SwitchHyperMoE(nn.Module):
    """encode(input_ids [B, S]) -> enc_out [B, S, d];
    decode(decoder_ids [B, T], enc_out, past=None) -> (logits [B, T, V], cache), one call:
    expert capacity counts over these T tokens;
    forward(input_ids, decoder_input_ids) -> logits of one teacher-forced decoder call.
    Each takes an optional attention_mask [B, S] of the encoder input (1 = token, 0 =
    padding) for padded batches."""

    def __init__(self, cfg: SwitchConfig, per_pattern: bool = False):
        super().__init__()
        self.config = cfg.validate()
        self.shared = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.encoder = SwitchStack(cfg, False, self.shared)
        self.decoder = SwitchStack(cfg, True, self.shared)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.shared.weight
        # True: each HyperExpert is generated once per (block, expert) (same result).
        self.per_pattern = per_pattern
        # False: drop the HyperExpert's term (plain Switch math on the same weights).
        self.hyper_enabled = True

    def _check_ids(self, ids: torch.Tensor, what: str) -> None:
        if ids.dim() != 2 or ids.shape[1] == 0:
            raise ValueError(f"{what} must be [batch, time] with time >= 1, got shape {tuple(ids.shape)}")
        V = self.config.vocab_size
        if ids.min() < 0 or ids.max() >= V:
            raise ValueError(f"{what} must lie in [0, {V}), got {int(ids.min())}..{int(ids.max())}")

    @staticmethod
    def _check_mask(mask: Optional[torch.Tensor], batch: int, length: int) -> None:
        if mask is None:
            return
        if tuple(mask.shape) != (batch, length):
            raise ValueError(f"attention_mask must have the encoder input's shape {(batch, length)}, "
                             f"got {tuple(mask.shape)}")
        if not bool(((mask == 0) | (mask == 1)).all()) or not bool((mask != 0).any(dim=1).all()):
            raise ValueError("attention_mask must hold 0 and 1 only, with at least one 1 per row")

    def encode(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check_ids(input_ids, "input_ids")
        self._check_mask(attention_mask, *input_ids.shape)
        return self.encoder(input_ids, per_pattern=self.per_pattern, hyper_enabled=self.hyper_enabled,
                            attention_mask=attention_mask)[0]

    def decode(self, decoder_ids: torch.Tensor, enc_out: torch.Tensor,
               past: Optional[DecoderCache] = None,
               attention_mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, DecoderCache]:
        self._check_ids(decoder_ids, "decoder_ids")
        self._check_mask(attention_mask, *enc_out.shape[:2])
        h, cache = self.decoder(decoder_ids, enc_out, past, self.per_pattern, self.hyper_enabled,
                                attention_mask=attention_mask)
        if self.config.tie_word_embeddings:
            h = h * (self.config.d_model ** -0.5)
        return self.lm_head(h), cache

    def forward(self, input_ids: torch.Tensor, decoder_input_ids: torch.Tensor,
                attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        enc_out = self.encode(input_ids, attention_mask)
        return self.decode(decoder_input_ids, enc_out, attention_mask=attention_mask)[0]

    def sparse_mlps(self) -> Dict[str, SparseMLP]:
        """'encoder.3' -> that block's SparseMLP, for every sparse block."""
        out = {}
        for stack_name in ("encoder", "decoder"):
            for i, blk in enumerate(getattr(self, stack_name).block):
                if blk.layer[-1].is_sparse:
                    out[f"{stack_name}.{i}"] = blk.layer[-1].mlp
        return out


@torch.no_grad()
def generate_greedy(model: SwitchHyperMoE, encoder_ids: Sequence[int], n: int,
                    decoder_prompt: Optional[Sequence[int]] = None, stop_at_eos: bool = True) -> List[int]:
    """Runs the encoder once, feeds `decoder_prompt` (default: the decoder start token)
    as one decoder call, then generates up to `n` tokens one decoder step at a time
    through the cache, each the argmax of the last logits (the lowest id on a tie).
    Stops after eos when `stop_at_eos`. Returns the generated ids."""
    if len(encoder_ids) == 0:
        raise ValueError("generate_greedy needs at least one encoder token")
    prompt = list(decoder_prompt) if decoder_prompt is not None else [model.config.decoder_start_token_id]
    if not prompt:
        raise ValueError("the decoder prompt must hold at least one token")
    enc = model.encode(torch.tensor([list(encoder_ids)], dtype=torch.long))
    logits, past = model.decode(torch.tensor([prompt], dtype=torch.long), enc)
    out: List[int] = []
    while len(out) < n:
        nxt = int(torch.argmax(logits[0, -1]))
        out.append(nxt)
        if len(out) == n or (stop_at_eos and nxt == model.config.eos_token_id):
            break
        logits, past = model.decode(torch.tensor([[nxt]]), enc, past)
    return out
