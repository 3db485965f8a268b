#!/usr/bin/python3
"""`hmoe perplexity` equals the PyTorch reference's sliding-window perplexity.

A seeded reference checkpoint carrying GPT-2's tokenizer is converted to f32 and q8;
the f32 perplexity over a text must equal tools/train/eval_ppl.py's to 1e-4 relative,
and the q8 one must stay within 1% of it (a coarse guard: the model is random).
"""
import argparse
import json
import os
import sys

from gpt2_checkpoint import ROOT, SKIP, make_gpt2_checkpoint, missing_prerequisite, run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hmoe", required=True)
    ap.add_argument("--gpt2-dir", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    why = missing_prerequisite(a.gpt2_dir)
    if why:
        print(f"SKIPPED: {why}")
        return SKIP
    ckpt, f32, _ = make_gpt2_checkpoint(a.work, a.gpt2_dir, "n8k2", seed=5)
    q8 = os.path.join(a.work, "model-q8.hmoe")
    text = os.path.join(a.work, "text.txt")
    # A few KB of English the machine has: the GPL's preamble.
    with open("/usr/share/common-licenses/GPL-3", encoding="utf-8") as f:
        body = f.read()[:6000]
    with open(text, "w", encoding="utf-8") as f:
        f.write(body)
    py = sys.executable
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
