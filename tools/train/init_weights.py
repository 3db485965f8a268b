"""Initial weights for training (not tools/hmoe_ref/init.py, which makes test models
whose every stage has unit-size outputs so that a wrong HyperExpert shows).

GPT-2's init (as Hugging Face applies it to the authors' model): every weight matrix
and embedding normal with std 0.02, biases 0, LayerNorms 1 / 0, and the projections
back into the residual stream (attn.c_proj, each expert's c_proj) std 0.02/sqrt(2 L).

The hypernetwork is initialised so its activations have unit size and the HyperExpert
it generates starts as a small residual branch, like an expert's c_proj: the authors'
hyperfanin init (outputs ~1e-3 of that) starts it so close to zero that, with
generated weights multiplying each other, it barely trains in a short run. Stds:
  n_experts_embedding  1/sqrt(N-k)          u, a sum of N-k rows, has unit entries
  layer_embed          1
  embedding_process, linear1: 1/sqrt(fan_in)
  weight_down          1/sqrt(H d)          generated Wd entries ~ rms(a)/sqrt(d)
  weight_up            0.02/sqrt(2L)/sqrt(H) generated Wu entries at c_proj's scale
  bias_down, bias_up   0.02/sqrt(H);  generator biases 0
The router's w_gate has std 0.02 (the authors start it at 0, which sends every token
to the same k experts on step one).

Each tensor draws from a generator seeded by (seed, name), so the tensors HyperMoE and
plain MoE share start identical whatever else the model holds.
"""

import math
import zlib

import torch


def _normal(name, shape, std, seed):
    gen = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
    return torch.randn(shape, generator=gen) * std


def _std(name, shape, cfg):
    L, N, k = cfg.n_layer, cfg.n_experts, cfg.k
    H, d = cfg.hypernetwork_bottleneck, cfg.n_embd
    residual_out = 0.02 / math.sqrt(2 * L)
    if "n_experts_embedding" in name:
        return 1.0 / math.sqrt(N - k)
    if "layer_embed" in name:
        return 1.0
    if "decoder.weight_down.weight" in name:
        return 1.0 / math.sqrt(H * d)
    if "decoder.weight_up.weight" in name:
        return residual_out / math.sqrt(H)
    if "decoder.bias_down.weight" in name or "decoder.bias_up.weight" in name:
        return 0.02 / math.sqrt(H)
    if "embedding_process" in name or "decoder.linear1.weight" in name:
        return 1.0 / math.sqrt(shape[1])  # nn.Linear: [out, in]
    if name.endswith("c_proj.weight"):
        return residual_out
    return 0.02


@torch.no_grad()
def init_training_weights(model, seed):
    cfg = model.config
    for name, p in model.named_parameters():  # lm_head.weight is wte's, listed once
        if ".ln_" in name or name.startswith("transformer.ln_f"):
            p.fill_(1.0 if name.endswith(".weight") else 0.0)
        elif name.endswith(".bias"):
            p.zero_()
        else:
            p.copy_(_normal(name, p.shape, _std(name, p.shape, cfg), seed))
