#!/usr/bin/python3
"""Test models for the API tests, made with the project's own tools.

    make_api_models.py --work DIR

Writes into DIR:
  tok/                  a 512-token byte-level BPE vocabulary (tools/train/train_bpe.py)
  n8k2.hmoe             preset n8k2, seed 1, with that tokenizer (tools/make_checkpoint.py,
                        tools/convert.py)
  n32k2.hmoe            n8k2 with 32 experts and adapter_dim 64: 496 expert sets per
                        layer of 33 KB each, so a 1 MiB HyperExpert cache (31 entries)
                        evicts all the time (the concurrency test's model)
  n8k2.ref              the PyTorch reference's greedy continuation of a prompt:
                          prompt <text>
                          prompt_ids <id> ...
                          greedy <id> ...
  sw.hmoe, sw.ref       a Switch Transformer HyperMoE (preset sw-tied, seed 1) and the
                        reference's greedy answer to an encoded input:
                          input_ids <id> ...
                          greedy <id> ...
  unusable_f16.hmoe     the fuzz seed hyper_n4k1_f16_tok with one generator bias set to
                        1e30: finite weights whose HyperExperts f16 cannot hold
                        (tests/BAD_INPUTS.md, row F21)
"""
import argparse
import os
import struct
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPO, "tools")
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.join(TOOLS, "train"))

import convert  # noqa: E402  (tools/convert.py)
import make_checkpoint  # noqa: E402  (tools/make_checkpoint.py)
from bpe import Tokenizer  # noqa: E402  (tools/train/bpe.py)
from hmoe_ref.checkpoint import load_model  # noqa: E402
from hmoe_ref.hmoe_file import read_hmoe  # noqa: E402
from hmoe_ref.checkpoint import load_switch_model  # noqa: E402
from hmoe_ref.model import generate_greedy  # noqa: E402
from hmoe_ref.switch_model import generate_greedy as switch_generate_greedy  # noqa: E402

PROMPT = "The little model reads a prompt and writes"
SWITCH_INPUT = [17, 42, 99, 7, 230, 64, 1]
GREEDY_TOKENS = 16

# Plain prose with enough repeated pairs to learn 255 merges.
CORPUS = """\
The little model reads a prompt and writes the words that follow it, one token at a time.
Every token goes through the same layers: attention looks back at the tokens before it,
and a mixture of experts picks two of eight small networks to transform it. A HyperExpert
adds what the experts that were not picked know, through weights that a shared network
writes for each set of experts. The runtime keeps those weights in a cache, so a set that
was seen before costs nothing to look up. Sessions share one model; each keeps its own
context, its own sampler and its own random numbers, and many of them run at the same
time on many threads. When the context is full the session stops; when the callback says
stop, it stops; when the model writes its end of text token, it stops too.
"""


def run_tool(main, argv):
    rc = main(argv)
    if rc != 0:
        sys.exit(f"make_api_models.py: {main.__module__} {' '.join(argv)} failed ({rc})")


def model(work, name, tokenizer_dir, extra):
    ckpt = os.path.join(work, name)
    argv = ["--preset", "n8k2", "--seed", "1", "-o", ckpt] + extra
    if tokenizer_dir:
        argv += ["--tokenizer-from", tokenizer_dir]
    run_tool(make_checkpoint.main, argv)
    run_tool(convert.main, [ckpt, "-o", os.path.join(work, name + ".hmoe"), "-q"])
    return ckpt


def unusable_f16(out_path):
    """The f16 seed with hyper.weight_down.bias[0] = 1e30, patched in place."""
    seed = os.path.join(REPO, "tests", "fuzz", "corpus", "model_loader", "hyper_n4k1_f16_tok.hmoe")
    f = read_hmoe(seed)
    e = f.entry("hyper.weight_down.bias")
    with open(seed, "rb") as src:
        data = bytearray(src.read())
    struct.pack_into("<f", data, f.prefix.data_offset + e.offset, 1e30)
    with open(out_path, "wb") as out:
        out.write(data)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)

    corpus = os.path.join(work, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write(CORPUS)
    tok_dir = os.path.join(work, "tok")
    subprocess.run([sys.executable, os.path.join(TOOLS, "train", "train_bpe.py"), "--vocab-size", "512",
                    "--min-frequency", "1", "--out-dir", tok_dir, corpus], check=True, stdout=subprocess.DEVNULL)

    ckpt = model(work, "n8k2", tok_dir, [])
    model(work, "n32k2", None, ["--n-experts", "32", "--adapter-dim", "64"])
    unusable_f16(os.path.join(work, "unusable_f16.hmoe"))

    tok = Tokenizer(os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"))
    prompt_ids = tok.encode(PROMPT)
    greedy = generate_greedy(load_model(ckpt), prompt_ids, GREEDY_TOKENS)
    with open(os.path.join(work, "n8k2.ref"), "w", encoding="utf-8") as f:
        f.write(f"prompt {PROMPT}\n")
        f.write("prompt_ids " + " ".join(map(str, prompt_ids)) + "\n")
        f.write("greedy " + " ".join(map(str, greedy)) + "\n")
    sw = os.path.join(work, "sw")
    run_tool(make_checkpoint.main, ["--arch", "switch", "--preset", "sw-tied", "--seed", "1", "-o", sw])
    run_tool(convert.main, [sw, "-o", os.path.join(work, "sw.hmoe"), "-q"])
    answer = switch_generate_greedy(load_switch_model(sw), SWITCH_INPUT, GREEDY_TOKENS, stop_at_eos=False)
    with open(os.path.join(work, "sw.ref"), "w", encoding="utf-8") as f:
        f.write("input_ids " + " ".join(map(str, SWITCH_INPUT)) + "\n")
        f.write("greedy " + " ".join(map(str, answer)) + "\n")
    print(f"models in {work}; reference greedy continuation {greedy}; Switch answer {answer}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
