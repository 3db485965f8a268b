#!/usr/bin/python3
"""The C++ runtime against the PyTorch reference, for one test preset.

Makes a seeded checkpoint, converts it to an f32 .hmoe, and through `hmoe logits`
checks: logits of sequences of length 1, 7 and 64 within 1e-4 of the reference
(max|diff| / max|ref|); a 16-token greedy continuation identical token for token;
`--hyper table` and `--hyper pertoken` within 1e-5 of each other; `-t 1` and `-t 2`
bit-identical. The input sequence is picked (deterministically) so that no expert
choice or greedy pick is within fp32 rounding of a tie.

    compare_runtime.py --preset n8k2 --hmoe build/tools/hmoe --work DIR
"""
import argparse
import os
import sys

import numpy as np
import torch

from ref_common import TestFailure, check, hmoe_bin, ids_arg, make_model, run_hmoe

from hmoe_ref.checkpoint import load_model
from hmoe_ref.init import hyper_effect
from hmoe_ref.model import generate_greedy

LOGITS_TOL = 1e-4
HYPER_MODES_TOL = 1e-5
LENGTHS = (1, 7, 64)
GREEDY_PROMPT = 7
GREEDY_TOKENS = 16
MIN_HYPER_EFFECT = 0.1
# Inputs are chosen so that no routing decision (gate logits) and no greedy
# pick (logits) is closer to a tie than this: fp32 rounding (~1e-7 here) could
# legitimately decide those either way, and the test would be flaky.
NEAR_TIE_GATE = 1e-4
NEAR_TIE_LOGIT = 1e-4
INPUT_TRIES = 20


def rel_diff(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max())


def routing_margin(model, ids: torch.Tensor) -> float:
    """Smallest gap between the k-th and (k+1)-th gate logit over tokens and layers (in
    logits, not probabilities: saturated probabilities are all near 0 however far apart)."""
    captured = []
    hooks = [b.mlp.register_forward_pre_hook(lambda m, args: captured.append((m, args[0])))
             for b in model.transformer.h]
    with torch.no_grad():
        model(ids)
    for h in hooks:
        h.remove()
    margin = float("inf")
    for moe, x in captured:
        if moe.k == moe.n_experts:
            continue
        top = (x.reshape(-1, moe.d) @ moe.w_gate).topk(moe.k + 1, dim=-1).values
        margin = min(margin, float((top[:, moe.k - 1] - top[:, moe.k]).min()))
    return margin


def greedy_logit_gap(model, prompt, continuation) -> float:
    """Smallest gap between the best and second-best logit over the greedy picks."""
    with torch.no_grad():
        logits = model(torch.tensor([prompt + continuation]))[0][0]
    picks = logits[len(prompt) - 1:len(prompt) - 1 + len(continuation)]
    top = picks.topk(2, dim=-1).values
    return float((top[:, 0] - top[:, 1]).min())


def pick_inputs(model, seed):
    """A test sequence (its prefix is the greedy prompt) free of near-ties; causality
    makes the margins of the full sequence those of its prefixes."""
    cfg = model.config
    for attempt in range(INPUT_TRIES):
        gen = torch.Generator().manual_seed(1000 * (attempt + 1) + seed)
        seq = torch.randint(0, cfg.vocab_size, (max(LENGTHS),), generator=gen).tolist()
        prompt = seq[:GREEDY_PROMPT]
        greedy = generate_greedy(model, prompt, GREEDY_TOKENS)
        margins = (routing_margin(model, torch.tensor([seq])),
                   routing_margin(model, torch.tensor([prompt + greedy])),
                   greedy_logit_gap(model, prompt, greedy))
        if min(margins[:2]) >= NEAR_TIE_GATE and margins[2] >= NEAR_TIE_LOGIT:
            return seq, prompt, greedy, margins
    raise TestFailure(f"no input without near-ties in {INPUT_TRIES} tries; change the preset's seed")


def logits_of(binary, model_path, ids, work, tag, extra=()):
    out = os.path.join(work, f"logits-{tag}.npy")
    if os.path.exists(out):
        os.remove(out)
    r = run_hmoe(binary, ["logits", "-m", model_path, "--ids", ids_arg(ids), "-o", out] + list(extra))
    check(r.returncode == 0, f"hmoe logits {' '.join(extra)} exited {r.returncode}: {r.stderr.strip()}")
    check(os.path.exists(out), f"hmoe logits wrote no {out}")
    a = np.load(out)
    check(a.dtype == np.float32, f"logits dtype {a.dtype}, expected float32")
    return a


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hmoe", default="")
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    binary = hmoe_bin(args.hmoe)

    ckpt, path, _ = make_model(args.preset, args.seed, args.work)
    model = load_model(ckpt)
    model64 = load_model(ckpt).double()
    cfg = model.config
    seq, prompt, want, margins = pick_inputs(model, args.seed)
    tag = args.preset

    if cfg.hyper:
        effect = hyper_effect(model, torch.tensor([seq]))
        print(f"{tag}: HyperExpert effect on logits = {effect:.3f}")
        check(effect >= MIN_HYPER_EFFECT, f"HyperExpert effect {effect:.3f} < {MIN_HYPER_EFFECT}: "
              "the checkpoint would not show a wrong HyperExpert")
    print(f"{tag}: smallest margins: routing {min(margins[:2]):.2e} (gate logit), "
          f"greedy {margins[2]:.2e} (logit)")

    failures = []
    at_one_thread = {}
    for n in LENGTHS:
        ids = seq[:n]
        with torch.no_grad():
            ref = model(torch.tensor([ids]))[0][0].numpy()
            ref64 = model64(torch.tensor([ids]))[0][0].numpy()
        got = logits_of(binary, path, ids, args.work, f"T{n}", ["-t", "1"])
        at_one_thread[n] = got
        check(got.shape == ref.shape, f"T={n}: logits shape {got.shape}, expected {ref.shape}")
        d32, d64 = rel_diff(got, ref), rel_diff(got, ref64)
        print(f"{tag}: T={n:3d}  max|diff|/max|ref| = {d32:.2e} vs the fp32 reference, {d64:.2e} vs fp64")
        if d32 > LOGITS_TOL:
            per_pos = np.abs(got - ref).max(axis=1) / np.abs(ref).max()
            bad = int(np.argmax(per_pos > LOGITS_TOL))
            failures.append(f"T={n}: relative diff {d32:.2e} > {LOGITS_TOL}, first at position {bad}")

    r = run_hmoe(binary, ["logits", "-m", path, "--ids", ids_arg(prompt), "--greedy", str(GREEDY_TOKENS),
                          "-t", "1"])
    check(r.returncode == 0, f"hmoe logits --greedy exited {r.returncode}: {r.stderr.strip()}")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    check(bool(lines), "hmoe logits --greedy printed nothing")
    try:
        got_ids = [int(t) for t in lines[-1].split(",")]
    except ValueError:
        raise TestFailure(f"hmoe logits --greedy printed {lines[-1]!r}, expected comma-separated ids") from None
    print(f"{tag}: greedy reference {want}")
    if got_ids != want:
        failures.append(f"greedy continuation differs: runtime {got_ids}, reference {want}")
    else:
        print(f"{tag}: greedy continuation of {GREEDY_TOKENS} tokens identical")

    n = max(LENGTHS)
    if cfg.hyper:
        table = logits_of(binary, path, seq, args.work, "table", ["-t", "1", "--hyper", "table"])
        pertoken = logits_of(binary, path, seq, args.work, "pertoken", ["-t", "1", "--hyper", "pertoken"])
        d = rel_diff(table, pertoken.astype(np.float64))
        print(f"{tag}: --hyper table vs pertoken, T={n}: {d:.2e}")
        if d > HYPER_MODES_TOL:
            failures.append(f"--hyper table and pertoken differ by {d:.2e} > {HYPER_MODES_TOL}")
    t1 = at_one_thread[n]
    t2 = logits_of(binary, path, seq, args.work, "t2", ["-t", "2"])
    if t1.tobytes() != t2.tobytes():
        failures.append(f"-t 1 and -t 2 logits are not bit-identical (max diff {np.abs(t1 - t2).max():.2e})")
    else:
        print(f"{tag}: -t 1 and -t 2 bit-identical, T={n}")

    for f in failures:
        print(f"FAIL {tag}: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
