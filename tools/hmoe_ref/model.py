"""PyTorch reference of GPT-2 HyperMoE (docs/MODELS.md), the numbers the C++
runtime must reproduce.

Module names follow the authors' `gpt-2-moe` code, so `state_dict()` has exactly the
checkpoint names of formats/TENSORS.md, including tensors inference never reads
(w_noise, mean, std, adapter_layer.adapter_*_manual): real checkpoints carry them, and
the converter must be tested on that layout. Written for clarity over speed; it runs
on the CPU in fp32 (or fp64 after `.double()`).
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .config import HyperMoEConfig

KVCache = Tuple[Tuple[torch.Tensor, torch.Tensor], ...]  # per layer (k, v): [B, n_head, T, head_dim]


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's GELU, the tanh approximation."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight stored [in, out], applied as x @ W + b."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight + self.bias


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: HyperMoEConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.head_dim = cfg.head_dim
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor, past: Optional[Tuple[torch.Tensor, torch.Tensor]]):
        B, T, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=-1)
        heads = lambda t: t.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        n_past = k.shape[2] - T
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        # Query i sits at absolute position n_past + i and sees keys 0 .. n_past + i.
        visible = torch.ones(T, n_past + T, dtype=torch.bool, device=x.device).tril(diagonal=n_past)
        scores = scores.masked_fill(~visible, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        out = out.transpose(1, 2).reshape(B, T, d)
        return self.c_proj(out), (k, v)


class ExpertMLP(nn.Module):
    """One expert: GPT-2's MLP. E(x) = gelu_new(x @ c_fc.W + c_fc.b) @ c_proj.W + c_proj.b"""

    def __init__(self, d: int):
        super().__init__()
        self.c_fc = Conv1D(d, 4 * d)
        self.c_proj = Conv1D(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(gelu_new(self.c_fc(x)))


class AdapterLayer(nn.Module):
    """Holds the authors' `adapter_*_manual` pair. With the hypernetwork on they are
    never used; they exist so the state dict has the real checkpoints' layout."""

    def __init__(self, d: int, b: int):
        super().__init__()
        self.adapter_down_manual = nn.Linear(d, b)
        self.adapter_up_manual = nn.Linear(b, d)


class SimpleGenerator(nn.Module):
    """The hypernetwork's decoder: z -> (weight_up, weight_down, bias_up, bias_down)."""

    def __init__(self, cfg: HyperMoEConfig):
        super().__init__()
        d, b, H = cfg.n_embd, cfg.adapter_dim, cfg.hypernetwork_bottleneck
        self.linear1 = nn.Linear(cfg.hypernet_input + cfg.layer_emb_dim, H)
        self.weight_up = nn.Linear(H, b * d)
        self.weight_down = nn.Linear(H, d * b)
        self.bias_up = nn.Linear(H, d)
        self.bias_down = nn.Linear(H, b)


class ParameterGenerator(nn.Module):
    """Shared by all layers; a layer embedding tells the layers apart."""

    def __init__(self, cfg: HyperMoEConfig):
        super().__init__()
        self.layer_embed = nn.Embedding(cfg.n_layer, cfg.layer_emb_dim)
        self.decoder = SimpleGenerator(cfg)


class HyperMoE(nn.Module):
    """The MoE layer that replaces GPT-2's MLP, with its HyperExpert."""

    def __init__(self, cfg: HyperMoEConfig):
        super().__init__()
        d, N = cfg.n_embd, cfg.n_experts
        self.k = cfg.k
        self.n_experts = N
        self.d = d
        self.adapter_dim = cfg.adapter_dim
        self.w_gate = nn.Parameter(torch.zeros(d, N))
        self.w_noise = nn.Parameter(torch.zeros(d, N))   # training-time noisy gating only
        self.register_buffer("mean", torch.tensor([0.0]))
        self.register_buffer("std", torch.tensor([1.0]))
        self.experts = nn.ModuleDict({f"expert_{j}": ExpertMLP(d) for j in range(N)})
        self.hyper = cfg.hyper
        if self.hyper:
            self.n_experts_embedding = nn.Embedding(N, cfg.experts_embedding_dim)
            self.embedding_process = nn.Sequential(
                nn.Linear(cfg.experts_embedding_dim, cfg.process_dim),
                nn.ReLU(),
                nn.Linear(cfg.process_dim, cfg.hypernet_input))
            self.adapter_layer = AdapterLayer(d, cfg.adapter_dim)

    # --- routing ---------------------------------------------------------------------

    def route(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x [M, d] -> (gates [M, N], selected [M, N] bool). Softmax over all N experts,
        the top k of it, renormalised over the k: with k = 1 the gate is exactly 1."""
        probs = torch.softmax(x @ self.w_gate, dim=-1)
        top_p, top_i = probs.topk(self.k, dim=-1)
        top_g = top_p / top_p.sum(dim=-1, keepdim=True)
        gates = torch.zeros_like(probs).scatter(1, top_i, top_g)
        selected = torch.zeros_like(probs, dtype=torch.bool).scatter(1, top_i, True)
        return gates, selected

    def experts_output(self, x: torch.Tensor, gates: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
        y = torch.zeros_like(x)
        for j in range(self.n_experts):  # ascending expert index, as the runtime adds them
            rows = selected[:, j].nonzero(as_tuple=True)[0]
            if rows.numel():
                out = self.experts[f"expert_{j}"](x[rows]) * gates[rows, j:j + 1]
                y.index_add_(0, rows, out)
        return y

    # --- HyperExpert -----------------------------------------------------------------

    def unselected_embedding_sum(self, selected: torch.Tensor) -> torch.Tensor:
        """u = sum of the embeddings of the experts NOT selected (a sum, not a mean)."""
        return (~selected).to(self.n_experts_embedding.weight.dtype) @ self.n_experts_embedding.weight

    def hyper_expert_weights(self, selected: torch.Tensor, layer: int, param_gen: ParameterGenerator):
        """selected [P, N] -> Wd [P, d, b], bd [P, b], Wu [P, b, d], bu [P, d]."""
        u = self.unselected_embedding_sum(selected)
        q = self.embedding_process(u)
        layer_vec = param_gen.layer_embed.weight[layer].expand(q.shape[0], -1)
        a = torch.relu(param_gen.decoder.linear1(torch.cat([q, layer_vec], dim=-1)))
        dec = param_gen.decoder
        P, d, b = q.shape[0], self.d, self.adapter_dim
        return (dec.weight_down(a).view(P, d, b), dec.bias_down(a),
                dec.weight_up(a).view(P, b, d), dec.bias_up(a))

    def hyper_expert_output(self, x: torch.Tensor, selected: torch.Tensor, layer: int,
                            param_gen: ParameterGenerator, per_pattern: bool) -> torch.Tensor:
        """A(x) = relu(x @ Wd + bd) @ Wu + bu, with the weights of each token's pattern."""
        if not per_pattern:
            Wd, bd, Wu, bu = self.hyper_expert_weights(selected, layer, param_gen)
            hidden = torch.relu(torch.einsum("md,mdb->mb", x, Wd) + bd)
            return torch.einsum("mb,mbd->md", hidden, Wu) + bu
        # The weights depend only on (layer, selected set): generate them once per
        # distinct pattern, then run each pattern's tokens as one matrix product.
        patterns, which = torch.unique(selected, dim=0, return_inverse=True)
        Wd, bd, Wu, bu = self.hyper_expert_weights(patterns, layer, param_gen)
        out = torch.empty_like(x)
        for p in range(patterns.shape[0]):
            rows = (which == p).nonzero(as_tuple=True)[0]
            out[rows] = torch.relu(x[rows] @ Wd[p] + bd[p]) @ Wu[p] + bu[p]
        return out

    def forward(self, x: torch.Tensor, layer: int, param_gen: Optional[ParameterGenerator],
                per_pattern: bool = False, hyper_enabled: bool = True) -> torch.Tensor:
        """x = ln_2 output [B, T, d] -> y + A(x), to be added to the residual stream."""
        shape = x.shape
        x = x.reshape(-1, self.d)
        gates, selected = self.route(x)
        out = self.experts_output(x, gates, selected)
        if self.hyper and hyper_enabled:
            out = out + self.hyper_expert_output(x, selected, layer, param_gen, per_pattern)
        return out.view(shape)


class Block(nn.Module):
    def __init__(self, cfg: HyperMoEConfig, layer: int):
        super().__init__()
        self.layer = layer
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = HyperMoE(cfg)

    def forward(self, h, past, param_gen, per_pattern, hyper_enabled):
        a, present = self.attn(self.ln_1(h), past)
        h = h + a
        h = h + self.mlp(self.ln_2(h), self.layer, param_gen, per_pattern, hyper_enabled)
        return h, present


class Transformer(nn.Module):
    def __init__(self, cfg: HyperMoEConfig):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.h = nn.ModuleList([Block(cfg, i) for i in range(cfg.n_layer)])
        if cfg.hyper:
            self.param_gen = ParameterGenerator(cfg)
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)


class GPT2HyperMoE(nn.Module):
    """forward(input_ids [B, T], past_key_values=None, use_cache=False)
    -> (logits [B, T, V], presents or None)."""

    def __init__(self, cfg: HyperMoEConfig, per_pattern: bool = False):
        super().__init__()
        self.config = cfg.validate()
        self.transformer = Transformer(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as in GPT-2
        # True: the hypernetwork runs once per distinct selection pattern (same result).
        self.per_pattern = per_pattern
        # False: drop the HyperExpert's term, to measure how much it changes the logits.
        self.hyper_enabled = True

    def forward(self, input_ids: torch.Tensor, past_key_values: Optional[KVCache] = None,
                use_cache: bool = False):
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be [batch, time], got shape {tuple(input_ids.shape)}")
        cfg = self.config
        B, T = input_ids.shape
        n_past = past_key_values[0][0].shape[2] if past_key_values else 0
        if n_past + T > cfg.n_positions:
            raise ValueError(f"{n_past} cached + {T} new positions exceed n_positions = {cfg.n_positions}")
        if input_ids.numel() and (input_ids.min() < 0 or input_ids.max() >= cfg.vocab_size):
            raise ValueError(f"token ids must lie in [0, {cfg.vocab_size}), got "
                             f"{int(input_ids.min())}..{int(input_ids.max())}")
        tr = self.transformer
        pos = torch.arange(n_past, n_past + T, device=input_ids.device)
        h = tr.wte(input_ids) + tr.wpe(pos)[None]
        param_gen = getattr(tr, "param_gen", None)
        presents: List[Tuple[torch.Tensor, torch.Tensor]] = []
        for i, block in enumerate(tr.h):
            past = past_key_values[i] if past_key_values else None
            h, present = block(h, past, param_gen, self.per_pattern, self.hyper_enabled)
            presents.append(present)
        logits = self.lm_head(tr.ln_f(h))
        return logits, (tuple(presents) if use_cache else None)


@torch.no_grad()
def generate_greedy(model: GPT2HyperMoE, ids: Sequence[int], n: int) -> List[int]:
    """Feeds `ids`, then generates `n` tokens one at a time through the KV cache,
    each the argmax of the last logits (the lowest id on a tie)."""
    if len(ids) == 0:
        raise ValueError("generate_greedy needs at least one prompt token")
    x = torch.tensor([list(ids)], dtype=torch.long)
    logits, past = model(x, use_cache=True)
    out: List[int] = []
    for _ in range(n):
        nxt = int(torch.argmax(logits[0, -1]))
        out.append(nxt)
        if len(out) == n:
            break
        logits, past = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
    return out
