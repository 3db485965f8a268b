"""Initial weights for training a Switch (HyperMoE) model from scratch (not
tools/hmoe_ref/switch_init.py, which makes test models whose every stage has unit-size
outputs so that a wrong HyperExpert shows).

T5's and Hugging Face's Switch Transformer init (initializer_factor 1): every norm 1;
the shared embedding std 1 (the tied head rescales by d**-0.5); attention q std
(d * d_kv)**-0.5 (T5 has no 1/sqrt(d_kv) on the scores: it lives in q's init), k and v
d**-0.5, o (H * d_kv)**-0.5, the relative position tables d**-0.5; every feed-forward
and expert wi d**-0.5, wo d_ff**-0.5. Two departures, for training from scratch:
  router            std 0.02 instead of 1: logits of about 0.2 at first, so routing starts
                    soft and every expert gets tokens (std 1 on RMS-normed inputs gives
                    logits of about sqrt(d), a one-hot choice fixed by the init);
  HyperMoE modules  activations of unit size, and the HyperExpert a small residual
                    branch at first (the authors' hyperfanin init starts it ~1e-3 of the
                    experts' output; with generated weights multiplying each other it
                    barely trains in a short run), as tools/train/init_weights.py does for
                    GPT-2:
    n_experts_embedding  1/sqrt(N-1)     u, the sum of the N-1 unselected rows, has unit entries
    layer_embed          1
    embedding_process, linear1: 1/sqrt(fan_in); their biases 0
    weight_down          1/sqrt(Hb d)    generated Wd entries ~ rms(x)/sqrt(d)
    weight_up            0.1/sqrt(Hb b)  generated Wu entries a tenth of an expert wo's
    bias_down, bias_up   0.02/sqrt(Hb);  the generator's own biases 0
  The authors' unused adapter_*_manual pair: std 0.02, biases 0 (never read).

Each tensor draws from a generator seeded by (seed, name), so the tensors HyperMoE and
plain Switch share start identical whatever else the model holds.
"""

import math
import zlib

import torch


def _normal(name, shape, std, seed):
    gen = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
    return torch.randn(shape, generator=gen) * std


def _std(name, shape, cfg):
    d, d_kv, H, f = cfg.d_model, cfg.d_kv, cfg.num_heads, cfg.d_ff
    Hb, b = cfg.hypernetwork_bottleneck, cfg.adapter_dim
    if name == "shared.weight" or name == "lm_head.weight":
        return 1.0
    if "router.classifier.weight" in name:
        return 0.02
    if "n_experts_embedding" in name:
        return 1.0 / math.sqrt(cfg.num_experts - 1)
    if "layer_embed" in name:
        return 1.0
    if "decoder.weight_down.weight" in name and "param_gen" in name:
        return 1.0 / math.sqrt(Hb * d)
    if "decoder.weight_up.weight" in name and "param_gen" in name:
        return 0.1 / math.sqrt(Hb * b)
    if ("decoder.bias_down.weight" in name or "decoder.bias_up.weight" in name) and "param_gen" in name:
        return 0.02 / math.sqrt(Hb)
    if "embedding_process" in name or ("param_gen" in name and "linear1.weight" in name):
        return 1.0 / math.sqrt(shape[1])  # nn.Linear: [out, in]
    if "adapter_layer" in name:
        return 0.02
    if "relative_attention_bias" in name:
        return d ** -0.5
    if name.endswith(".q.weight"):
        return (d * d_kv) ** -0.5
    if name.endswith(".k.weight") or name.endswith(".v.weight"):
        return d ** -0.5
    if name.endswith(".o.weight"):
        return (H * d_kv) ** -0.5
    if name.endswith(".wi.weight"):
        return d ** -0.5
    if name.endswith(".wo.weight"):
        return f ** -0.5
    raise ValueError(f"no initial std for tensor '{name}' {tuple(shape)}")


@torch.no_grad()
def init_switch_training_weights(model, seed):
    cfg = model.config
    for name, p in model.named_parameters():  # aliases of the shared embedding listed once
        if "layer_norm" in name:
            p.fill_(1.0)
        elif name.endswith(".bias"):
            p.zero_()
        else:
            p.copy_(_normal(name, p.shape, _std(name, p.shape, cfg), seed))
