#!/usr/bin/python3
"""Self-checks of the Python side, no C++ involved: the reference model's KV cache,
per-pattern hypernetwork and greedy generation agree with its plain forward; the test
checkpoints are sensitive to the HyperExpert mistakes a runtime could make; configs,
safetensors and the .hmoe writer/reader round-trip; the reader refuses corrupt files
with HmoeFormatError only.

    python_model.py --work DIR
"""
import argparse
import os
import random
import sys

import numpy as np
import torch

from ref_common import TestFailure, check, make_model

from hmoe_ref.checkpoint import load_model, read_tensors
from hmoe_ref.config import ConfigError, HyperMoEConfig
from hmoe_ref.file_layout import BF16, Q4_0, Q8_0
from hmoe_ref.hmoe_file import HmoeFormatError, read_hmoe
from hmoe_ref.hmoe_writer import PlannedTensor, write_hmoe
from hmoe_ref.init import init_test_weights
from hmoe_ref.model import GPT2HyperMoE, HyperMoE, generate_greedy
from hmoe_ref.presets import TEST_PRESETS, preset_config
from hmoe_ref.safetensors_np import read_safetensors, write_safetensors

# A runtime bug in the HyperExpert must move the logits by far more than the 1e-4
# tolerance of the comparison; this is the margin the test checkpoints must give.
MUTATION_MIN_EFFECT = 1e-2


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def check_model_paths(preset: str) -> None:
    cfg = preset_config(preset)
    model = GPT2HyperMoE(cfg).eval()
    init_test_weights(model, 7)
    ids = torch.randint(0, cfg.vocab_size, (2, 40), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full, _ = model(ids)
        a, past = model(ids[:, :25], use_cache=True)
        b, past = model(ids[:, 25:39], past_key_values=past, use_cache=True)
        c, _ = model(ids[:, 39:], past_key_values=past, use_cache=True)
        check(rel(torch.cat([a, b, c], 1), full) < 1e-6, f"{preset}: KV cache differs from the full forward")
        model.per_pattern = True
        check(rel(model(ids)[0], full) < 1e-6, f"{preset}: per-pattern hypernetwork differs from per-token")
        model.per_pattern = False
        prompt = ids[0, :5].tolist()
        greedy = generate_greedy(model, prompt, 8)
        seq = list(prompt)
        for _ in range(8):
            seq.append(int(model(torch.tensor([seq]))[0][0, -1].argmax()))
        check(seq[5:] == greedy, f"{preset}: generate_greedy {greedy} != argmax of full forwards {seq[5:]}")
    print(f"{preset}: KV cache, per-pattern hypernetwork and greedy generation agree with the full forward")


def check_mutations() -> None:
    """The test checkpoints catch each plausible HyperExpert mistake by a wide margin."""
    cfg = preset_config("n8k2")
    model = GPT2HyperMoE(cfg).eval()
    init_test_weights(model, 1)
    ids = torch.randint(0, cfg.vocab_size, (1, 64), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(ids)[0]
    orig_sum, orig_weights = HyperMoE.unselected_embedding_sum, HyperMoE.hyper_expert_weights

    def weights_transposed_view(self, selected, layer, pg):
        Wd, bd, Wu, bu = orig_weights(self, selected, layer, pg)
        P = Wd.shape[0]
        return (Wd.reshape(P, -1).view(P, self.adapter_dim, self.d).transpose(1, 2), bd,
                Wu.reshape(P, -1).view(P, self.d, self.adapter_dim).transpose(1, 2), bu)

    mutations = {
        "mean instead of sum": lambda self, s: orig_sum(self, s) / (self.n_experts - self.k),
        "selected instead of unselected": lambda self, s: orig_sum(self, ~s),
        "all experts": lambda self, s: self.n_experts_embedding.weight.sum(0).expand(s.shape[0], -1),
    }
    effects = {}
    try:
        for name, fn in mutations.items():
            HyperMoE.unselected_embedding_sum = fn
            with torch.no_grad():
                effects[name] = rel(model(ids)[0], ref)
        HyperMoE.unselected_embedding_sum = orig_sum
        HyperMoE.hyper_expert_weights = weights_transposed_view
        with torch.no_grad():
            effects["Wd viewed [b, d] and transposed"] = rel(model(ids)[0], ref)
        HyperMoE.hyper_expert_weights = lambda self, s, layer, pg: orig_weights(self, s, 0, pg)
        with torch.no_grad():
            effects["layer embedding of layer 0 everywhere"] = rel(model(ids)[0], ref)
    finally:
        HyperMoE.unselected_embedding_sum = orig_sum
        HyperMoE.hyper_expert_weights = orig_weights
    for name, e in effects.items():
        print(f"n8k2: HyperExpert mistake '{name}' moves the logits by {e:.3f} (relative)")
        check(e > MUTATION_MIN_EFFECT, f"the test checkpoint would not catch '{name}' ({e:.2e})")


def check_config() -> None:
    good = dict(vocab_size=10, n_positions=8, n_embd=8, n_layer=1, n_head=2, n_experts=4, k=2)
    HyperMoEConfig.from_dict(good)
    for bad, words in ((dict(n_head=3), "n_head"), (dict(k=5), "k (5)"), (dict(n_embd=0), "n_embd"),
                       (dict(layer_norm_epsilon=-1), "layer_norm_epsilon"), (dict(adapter_dim=0), "adapter_dim"),
                       (dict(use_hypernet=False), "use_hypernet"), (dict(k=4), "no expert is left")):
        try:
            HyperMoEConfig.from_dict(dict(good, **bad))
        except ConfigError as e:
            check(words in str(e), f"config error for {bad} does not mention '{words}': {e}")
        else:
            raise TestFailure(f"config {bad} was accepted")
    print("config: validation names the bad field")


def check_safetensors(work: str) -> None:
    path = os.path.join(work, "rt.safetensors")
    arrays = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(5, np.float16),
              "c": np.array([1, -2], np.int64)}
    write_safetensors(path, arrays)
    back = read_safetensors(path)
    check(set(back) == set(arrays) and all(np.array_equal(back[k], v) and back[k].dtype == v.dtype
                                           for k, v in arrays.items()), "safetensors round trip")
    print("safetensors: round trip exact")


def check_hmoe_roundtrip_and_fuzz(work: str) -> None:
    ckpt, path, _ = make_model("n8k1", 2, work)
    f = read_hmoe(path)
    check(f.prefix.data_offset % 4096 == 0 and f.prefix.header_offset == 64, "prefix layout")
    check(all(e.offset % 64 == 0 for e in f.tensors.values()), "tensor alignment")
    check(f.prefix.data_offset + f.prefix.data_size == os.path.getsize(path), "file ends after the data")
    src = read_tensors(ckpt)
    check(np.array_equal(f.array("tok_embd"), src["transformer.wte.weight"]), "tok_embd values")
    check(np.array_equal(f.array("blk.1.moe.fc.weight")[3], src["transformer.h.1.mlp.experts.expert_3.c_fc.weight"].T),
          "stacked expert values")
    model = load_model(ckpt)
    check(model.config.k == f.hparams["top_k"] == 1, "hparams")

    data = open(path, "rb").read()
    rng = random.Random(11)
    refused = accepted = 0
    bad_path = os.path.join(work, "fuzz.hmoe")

    def try_read():
        nonlocal refused, accepted
        try:
            read_hmoe(bad_path)
            accepted += 1
        except HmoeFormatError:
            refused += 1
        except Exception as e:  # anything else is a reader bug
            raise TestFailure(f"Python reader raised {type(e).__name__}: {e}") from None

    for n in (0, 10, 64, 100, f.prefix.data_offset, len(data) - 1):
        with open(bad_path, "wb") as fh:
            fh.write(data[:n])
        try_read()
    with open(bad_path, "wb") as fh:
        fh.write(data)
    n_flips = 300
    for _ in range(n_flips):  # one bit of the prefix or header, flipped in place and restored
        pos = rng.randrange(f.prefix.data_offset)
        with open(bad_path, "r+b") as fh:
            fh.seek(pos)
            fh.write(bytes([data[pos] ^ (1 << rng.randrange(8))]))
        try_read()
        with open(bad_path, "r+b") as fh:
            fh.seek(pos)
            fh.write(data[pos:pos + 1])
    cases = range(6 + n_flips)
    check(refused >= 6, "truncated files were accepted")
    print(f"hmoe reader: round trip exact; {len(cases)} corrupt files: {refused} refused with HmoeFormatError, "
          f"{accepted} accepted (flips in values or padding), no other exception")


def check_dequantization(work: str) -> None:
    """The reader widens bf16, Q8_0 and Q4_0 as formats/hmoe.fbs lays them out."""
    rng = np.random.default_rng(5)
    q8 = rng.integers(-128, 128, size=(2, 64), dtype=np.int8)
    s8 = np.array([0.5, 0.25, 2.0, 1.0], np.float16)               # one scale per 32 weights
    q4 = rng.integers(0, 16, size=(1, 64), dtype=np.uint8)
    s4 = np.array([0.125, 3.0], np.float16)
    # Per block of 32, byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    packed4 = np.concatenate([q4[0, b * 32:b * 32 + 16] | (q4[0, b * 32 + 16:b * 32 + 32] << 4) for b in range(2)])
    bf = np.array([1.5, -2.0, 3.25], np.float32)
    raw = {
        "q8": (Q8_0, (2, 64), np.concatenate([q8.reshape(-1).view(np.uint8), s8.view(np.uint8)])),
        "q4": (Q4_0, (1, 64), np.concatenate([packed4, s4.view(np.uint8)])),
        "bf": (BF16, (3,), (bf.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)),
    }
    plan = [PlannedTensor(n, dt, shape, (lambda a=a: a)) for n, (dt, shape, a) in raw.items()]
    path = os.path.join(work, "quant.hmoe")
    write_hmoe(path, {"vocab_size": 1}, None, [], plan)
    f = read_hmoe(path)
    want8 = q8.astype(np.float32) * np.repeat(s8.astype(np.float32), 32).reshape(2, 64)
    want4 = (q4.astype(np.float32) - 8) * np.repeat(s4.astype(np.float32), 32).reshape(1, 64)
    check(np.array_equal(f.array("q8"), want8), "Q8_0 dequantization")
    check(np.array_equal(f.array("q4"), want4), "Q4_0 dequantization")
    check(np.array_equal(f.array("bf"), bf), "bf16 widening")
    print("hmoe reader: bf16, Q8_0 and Q4_0 widen as the schema lays them out")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    for preset in TEST_PRESETS:
        check_model_paths(preset)
    check_mutations()
    check_config()
    check_safetensors(args.work)
    check_hmoe_roundtrip_and_fuzz(args.work)
    check_dequantization(args.work)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
