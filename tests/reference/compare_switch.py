#!/usr/bin/python3
"""The C++ runtime against the PyTorch reference for one Switch Transformer test preset.

Makes a seeded checkpoint (make_checkpoint.py --arch switch), converts it to an f32
.hmoe, and through `hmoe logits` checks, for encoder inputs of 1, 7 and 40 tokens:
  - teacher-forced decoder logits of one decoder call over 1 .. 16 tokens
    (`--encoder-ids E --ids D -o OUT.npy`, [len(D), V], expert capacity counted over
    that call) within 1e-4 of the reference, relative to the logit range;
  - a 16-token greedy continuation (`--greedy 16`: feed D as one decoder call, then one
    decoder step per token; the ids printed comma-separated on the last line) identical
    token for token, after decoder prompts of 1 and 3 tokens;
  - `-t 1` and `-t 2` bit-identical (logits and greedy ids), and the hypernetwork run
    per token (`--hyper pertoken`) bit-identical to the HyperExpert cache.
Inputs are picked (deterministically) so that no routing decision and no greedy pick is
within fp32 rounding of a tie, and so that no greedy continuation reaches eos (the
runtime may stop there or not: either is then the same 16 ids).

    compare_switch.py --preset sw-tied --hmoe build/tools/hmoe --work DIR
"""
import argparse
import os
import sys
from typing import List, Tuple

import numpy as np
import torch

from ref_common import TestFailure, check, hmoe_bin, ids_arg, quiet_call, run_hmoe

import convert
import make_checkpoint
from hmoe_ref.checkpoint import load_switch_model
from hmoe_ref.switch_init import hyper_effect

LOGITS_TOL = 1e-4
ENCODER_LENGTHS = (1, 7, 40)
DECODER_LENGTHS = range(1, 17)
GREEDY_PROMPTS = (1, 3)
GREEDY_TOKENS = 16
MIN_HYPER_EFFECT = 0.1
MIN_DISTINCT_GREEDY = 3     # preferred: a continuation that is not one token repeated
NEAR_TIE_ROUTER = 1e-4      # top-1 vs top-2 router logit, every token of every sparse block call
NEAR_TIE_LOGIT = 1e-4       # best vs second-best logit of every greedy pick
INPUT_TRIES = 30


def rel_range(got: np.ndarray, ref: np.ndarray) -> float:
    """max|got - ref| relative to the reference's logit range."""
    ref = ref.astype(np.float64)
    return float(np.abs(got.astype(np.float64) - ref).max() / (ref.max() - ref.min()))


class RouterMargins:
    """Smallest gap between the two largest router logits over every call while active."""

    def __init__(self, model):
        self.margin = float("inf")
        self.hooks = [m.router.register_forward_hook(self.record) for m in model.sparse_mlps().values()]

    def record(self, module, inputs, outputs):
        logits = outputs[3]
        if logits.shape[-1] > 1:
            top = logits.topk(2, dim=-1).values
            self.margin = min(self.margin, float((top[..., 0] - top[..., 1]).min()))

    def close(self):
        for h in self.hooks:
            h.remove()


@torch.no_grad()
def greedy_with_gaps(model, enc_ids: List[int], prompt: List[int], n: int) -> Tuple[List[int], float]:
    """The greedy continuation (no eos stop) and its smallest best-vs-second logit gap."""
    enc = model.encode(torch.tensor([enc_ids]))
    logits, past = model.decode(torch.tensor([prompt]), enc)
    out, gap = [], float("inf")
    while True:
        top = logits[0, -1].topk(2)
        gap = min(gap, float(top.values[0] - top.values[1]))
        out.append(int(top.indices[0]))
        if len(out) == n:
            return out, gap
        logits, past = model.decode(torch.tensor([[out[-1]]]), enc, past)


def pick_inputs(model, S: int, seed: int):
    """Encoder ids, a 16-token decoder input and the greedy cases, free of near-ties.
    Decoder calls are causal (capacity counts in position order), so the margins of the
    16-token call cover its prefixes."""
    cfg = model.config
    fallback = None
    for attempt in range(INPUT_TRIES):
        gen = torch.Generator().manual_seed(10_000 * S + 100 * attempt + seed)
        enc = torch.randint(0, cfg.vocab_size, (S,), generator=gen).tolist()
        dec = [cfg.decoder_start_token_id] + torch.randint(0, cfg.vocab_size, (15,), generator=gen).tolist()
        margins = RouterMargins(model)
        try:
            with torch.no_grad():
                model(torch.tensor([enc]), torch.tensor([dec]))
            greedy = [(dec[:p],) + greedy_with_gaps(model, enc, dec[:p], GREEDY_TOKENS) for p in GREEDY_PROMPTS]
        finally:
            margins.close()
        if margins.margin < NEAR_TIE_ROUTER or min(g[2] for g in greedy) < NEAR_TIE_LOGIT:
            continue
        if any(cfg.eos_token_id in g[1] for g in greedy):
            continue
        picked = (enc, dec, [(p, ids) for p, ids, _ in greedy], margins.margin, min(g[2] for g in greedy))
        if all(len(set(ids)) >= MIN_DISTINCT_GREEDY for _, ids, _ in greedy):
            return picked
        fallback = fallback or picked
    if fallback:
        return fallback
    raise TestFailure(f"S={S}: no input without near-ties in {INPUT_TRIES} tries; change the preset's seed")


def logits_of(binary, path, enc, dec, work, tag, threads, hyper="table"):
    out = os.path.join(work, f"logits-{tag}.npy")
    if os.path.exists(out):
        os.remove(out)
    args = ["logits", "-m", path, "--encoder-ids", ids_arg(enc), "--ids", ids_arg(dec), "-o", out, "-t", str(threads),
            "--hyper", hyper]
    r = run_hmoe(binary, args)
    check(r.returncode == 0, f"hmoe {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    check(os.path.exists(out), f"hmoe logits wrote no {out}")
    a = np.load(out)
    check(a.dtype == np.float32, f"logits dtype {a.dtype}, expected float32")
    return a


def greedy_of(binary, path, enc, prompt, threads) -> List[int]:
    args = ["logits", "-m", path, "--encoder-ids", ids_arg(enc), "--ids", ids_arg(prompt),
            "--greedy", str(GREEDY_TOKENS), "-t", str(threads)]
    r = run_hmoe(binary, args)
    check(r.returncode == 0, f"hmoe {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    check(bool(lines), f"hmoe {' '.join(args)} printed nothing")
    try:
        return [int(t) for t in lines[-1].split(",")]
    except ValueError:
        raise TestFailure(f"hmoe logits --greedy printed {lines[-1]!r}, expected comma-separated ids") from None


def make_model(preset: str, seed: int, work: str) -> Tuple[str, str]:
    os.makedirs(work, exist_ok=True)
    ckpt = os.path.join(work, f"{preset}-s{seed}")
    rc, _, err = quiet_call(make_checkpoint.main, ["--arch", "switch", "--preset", preset, "--seed", str(seed),
                                                   "-o", ckpt])
    check(rc == 0, f"make_checkpoint.py failed ({rc}): {err}")
    path = os.path.join(work, f"{preset}-s{seed}-f32.hmoe")
    rc, _, err = quiet_call(convert.main, [ckpt, "-o", path, "-q"])
    check(rc == 0, f"convert.py failed ({rc}): {err}")
    return ckpt, path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hmoe", default="")
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    binary = hmoe_bin(args.hmoe)
    torch.set_num_threads(1)

    ckpt, path = make_model(args.preset, args.seed, args.work)
    model = load_switch_model(ckpt)
    model64 = load_switch_model(ckpt).double()
    cfg = model.config
    tag = args.preset
    failures = []
    for S in ENCODER_LENGTHS:
        enc, dec, greedy, router_margin, logit_gap = pick_inputs(model, S, args.seed)
        print(f"{tag}: S={S}: smallest margins: router {router_margin:.2e}, greedy {logit_gap:.2e} (logits)")
        with torch.no_grad():
            if cfg.hyper:
                effect = hyper_effect(model, torch.tensor([enc]), torch.tensor([dec]))
                print(f"{tag}: S={S}: HyperExpert effect on logits = {effect:.3f}")
                check(effect >= MIN_HYPER_EFFECT, f"HyperExpert effect {effect:.3f} < {MIN_HYPER_EFFECT}: "
                      "the checkpoint would not show a wrong HyperExpert")
            enc_out, enc_out64 = model.encode(torch.tensor([enc])), model64.encode(torch.tensor([enc]))
            dropped = sum(m.last_dropped for n, m in model.sparse_mlps().items() if n.startswith("encoder"))
        worst = (0.0, 0.0, 0)
        for T in DECODER_LENGTHS:
            with torch.no_grad():
                ref = model.decode(torch.tensor([dec[:T]]), enc_out)[0][0].numpy()
                ref64 = model64.decode(torch.tensor([dec[:T]]), enc_out64)[0][0].numpy()
            got = logits_of(binary, path, enc, dec[:T], args.work, f"S{S}-T{T}", 1)
            if got.shape != ref.shape:
                failures.append(f"S={S} T={T}: logits shape {got.shape}, expected {ref.shape}")
                continue
            d32, d64 = rel_range(got, ref), rel_range(got, ref64)
            worst = max(worst, (d32, d64, T))
            if d32 > LOGITS_TOL:
                per_pos = np.abs(got - ref).max(axis=1) / (ref.max() - ref.min())
                failures.append(f"S={S} T={T}: relative diff {d32:.2e} > {LOGITS_TOL}, first at position "
                                f"{int(np.argmax(per_pos > LOGITS_TOL))}")
        with torch.no_grad():
            model.decode(torch.tensor([dec]), enc_out)
        dec_dropped = sum(m.last_dropped for n, m in model.sparse_mlps().items() if n.startswith("decoder"))
        print(f"{tag}: S={S}: T=1..16 worst max|diff|/range = {worst[0]:.2e} vs the fp32 reference "
              f"({worst[1]:.2e} vs fp64) at T={worst[2]}; tokens over capacity: {dropped} in the encoder, "
              f"{dec_dropped} in the 16-token decoder call")
        t1 = logits_of(binary, path, enc, dec, args.work, f"S{S}-T16-t1", 1)
        t2 = logits_of(binary, path, enc, dec, args.work, f"S{S}-T16-t2", 2)
        if t1.tobytes() != t2.tobytes():
            failures.append(f"S={S}: -t 1 and -t 2 logits are not bit-identical "
                            f"(max diff {np.abs(t1 - t2).max():.2e})")
        if cfg.hyper:  # the hypernetwork run per token gives the cache's numbers exactly
            pt = logits_of(binary, path, enc, dec, args.work, f"S{S}-T16-pertoken", 1, hyper="pertoken")
            if pt.tobytes() != t1.tobytes():
                failures.append(f"S={S}: --hyper pertoken and table logits are not bit-identical "
                                f"(max diff {np.abs(pt - t1).max():.2e})")
        for prompt, want in greedy:
            got1 = greedy_of(binary, path, enc, prompt, 1)
            got2 = greedy_of(binary, path, enc, prompt, 2)
            if got1 != want:
                failures.append(f"S={S} prompt {prompt}: greedy runtime {got1}, reference {want}")
            if got2 != got1:
                failures.append(f"S={S} prompt {prompt}: greedy -t 2 {got2} differs from -t 1 {got1}")
            print(f"{tag}: S={S}: greedy after {len(prompt)} prompt token(s): reference {want}")
    for f in failures:
        print(f"FAIL {tag}: {f}", file=sys.stderr)
    if not failures:
        print(f"{tag}: all logits within {LOGITS_TOL:g} of the logit range, greedy identical, -t 1 == -t 2, "
              "per-token HyperExperts == cached")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
