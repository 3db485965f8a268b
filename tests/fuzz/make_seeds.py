#!/usr/bin/python3
"""Regenerates the fuzz targets' seed corpora and the tokenizer they share.

    tests/fuzz/make_seeds.py --hmoe build/tools/hmoe     (Debian's python3)

Writes, under tests/fuzz/:
  data/vocab.json, data/merges.txt   a 300-token GPT-2 byte-level BPE trained on the
                                     paragraph below (tools/train/train_bpe.py)
  corpus/model_loader/*.hmoe         tiny synthetic models (tools/make_checkpoint.py +
                                     tools/convert.py), each well under 100 KB, covering
                                     HyperMoE k=1 and k=2, plain MoE, f32, f16, bf16,
                                     q8_0 and q4_0 (`hmoe quantize`), baked HyperExpert
                                     tables, with and without a tokenizer; GPT-2 and
                                     Switch Transformer (encoder-decoder)
  corpus/tokenizer/*                 inputs in fuzz_tokenizer.cpp's format
  corpus/cli_args/*                  NUL-separated argument lists (fuzz_cli_args.cpp)

Everything is a pure function of this script, so rerunning it gives the same bytes
unless the converter or the file format changed; then commit the new seeds (they are
also the base models of tests/bad_inputs/).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PY = sys.executable
MAX_SEED_BYTES = 100_000

# Training text for the seed tokenizer: English (so merges exist), digits,
# contractions, several scripts and symbols (so the pre-tokenizer's classes all occur).
TRAINING_TEXT = """\
In the beginning God created the heaven and the earth. And the earth was without form,
and void; and darkness was upon the face of the deep. And the Spirit of God moved upon
the face of the waters. And God said, Let there be light: and there was light.
It's 2024; they'll say we've done 3.14 things, and I'm sure you'd agree.
The quick brown fox jumps over the lazy dog 1234567890 times!!! (really?)
Übermäßig schöne Grüße aus Köln. Ça va très bien, merci. ¿Dónde está el niño?
Привет, как дела? Γειά σου κόσμε. こんにちは世界。你好，世界。안녕하세요 세계
emoji: 🙂🚀 ✓ → ∑ ∞ — “quotes” ‘single’ «guillemets»
<|endoftext|>
"""

SWITCH_TINY = ["--arch", "switch", "--vocab-size", "64", "--d-model", "16", "--d-kv", "8", "--d-ff", "16",
               "--num-layers", "2", "--num-decoder-layers", "2", "--num-heads", "2", "--num-experts", "3",
               "--expert-capacity", "4", "--encoder-sparse-step", "2", "--decoder-sparse-step", "2",
               "--relative-attention-num-buckets", "8", "--relative-attention-max-distance", "16"]
# name: (make_checkpoint.py dimension flags, convert dtype, with tokenizer)
TINY = ["--vocab-size", "300", "--n-positions", "16", "--n-embd", "16", "--n-layer", "1", "--n-head", "2",
        "--experts-embedding-dim", "8", "--process-dim", "8", "--hypernet-input", "8",
        "--hypernetwork-bottleneck", "8", "--layer-emb-dim", "4", "--adapter-dim", "8"]
MODELS = {
    "hyper_n4k2_f32_tok": (TINY + ["--n-experts", "4", "--k", "2"], "f32", True),
    "hyper_n4k1_f16_tok": (TINY + ["--n-experts", "4", "--k", "1"], "f16", True),
    "hyper_n3k2_l2_f16": (["--vocab-size", "64", "--n-positions", "8", "--n-embd", "8", "--n-layer", "2",
                           "--n-head", "2", "--experts-embedding-dim", "4", "--process-dim", "4",
                           "--hypernet-input", "4", "--hypernetwork-bottleneck", "4", "--layer-emb-dim", "2",
                           "--adapter-dim", "4", "--n-experts", "3", "--k", "2"], "f16", False),
    "plain_n4k2_f32": (["--vocab-size", "64", "--n-positions", "8", "--n-embd", "8", "--n-layer", "1",
                        "--n-head", "1", "--n-experts", "4", "--k", "2", "--experts-embedding", "false",
                        "--use-hypernet", "false"], "f32", False),
    # The Switch Transformer (encoder-decoder): block 1 of each stack sparse, capacity 4.
    "switch_hyper_f32": (SWITCH_TINY + ["--use-hypernet", "true", "--experts-embedding", "true",
                                        "--experts-embedding-dim", "4", "--process-dim", "4",
                                        "--hypernet-input", "4", "--hypernetwork-bottleneck", "4",
                                        "--layer-emb-dim", "2", "--adapter-dim", "4"], "f32", False),
    "switch_plain_untied_f16": (SWITCH_TINY + ["--tie-word-embeddings", "false", "--router-bias", "true"],
                                "f16", False),
}

# Block types need dimensions that are multiples of 32: quantized (and baked) seeds come
# from this model, which is not a seed itself. name: (`hmoe quantize` input, its options)
QUANT_BASE = ["--vocab-size", "64", "--n-positions", "8", "--n-embd", "32", "--n-layer", "1", "--n-head", "2",
              "--n-experts", "3", "--k", "2", "--experts-embedding-dim", "8", "--process-dim", "8",
              "--hypernet-input", "8", "--hypernetwork-bottleneck", "32", "--layer-emb-dim", "4",
              "--adapter-dim", "8"]
QUANTIZED = {
    "hyper_n3k2_q8_baked": ("quant_base", ["-t", "q8", "--bake-hyper"]),
    "hyper_n3k2_q4": ("quant_base", ["-t", "q4", "--keep", "tok_embd=q4"]),
    "hyper_n3k2_l2_bf16": ("hyper_n3k2_l2_f16", ["-t", "bf16", "--keep", "tok_embd=bf16"]),
}

# fuzz_tokenizer.cpp: the first byte picks the mode (see that file).
TOKENIZER_SEEDS = {
    "roundtrip_ascii": b"\x00" + b"The quick brown fox jumps over the lazy dog. It's 42!",
    "roundtrip_unicode": b"\x00" + TRAINING_TEXT.encode("utf-8")[-260:],
    "roundtrip_special": b"\x00" + b"end<|endoftext|>start <|endoftext|><|endoftext|>",
    "roundtrip_invalid_utf8": b"\x00" + b"caf\xe9 \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \xff\xfe ok",
    "roundtrip_spaces": b"\x00" + b"  \t\n\n   x  \r\n 12   345 \xc2\xa0\xe2\x80\x83end",
    "extra_vocab": b"\x01\xff\xff" + "Ġt\nhe\nĠthe\n\nĠ t\nh e\nĠt he\n\n the theme".encode("utf-8"),
    "raw_vocab": b"\x02\x00\xff" + "a\nb\nab\n\na b\n\nabab".encode("utf-8"),
    "vocab_json": b"\x03" + '{"a": 0, "\\u0120b": 1, "<|endoftext|>": 2}\0#version: 0.2\na \\u0120b\n'.encode("utf-8"),
}

# fuzz_cli_args.cpp: arguments separated by NUL bytes.
CLI_SEEDS = {
    "run_typical": ["-m", "model.hmoe", "-p", "Hello", "-n", "16", "--temp", "0.7", "--top-k", "40",
                    "--top-p", "0.9", "--repeat-penalty", "1.1", "--seed", "42", "-t", "2", "-c", "64"],
    "run_inline": ["--model=m.hmoe", "--ids=1,2,3", "--hyper=pertoken", "--hyper-cache-mb=1", "--stats"],
    "run_dashdash": ["-p", "x", "--", "-n", "--temp"],
    "bad_values": ["-n", "-1", "--temp", "nan", "--top-p", "1e999", "-t", "99999999999", "--ids", "1,,x"],
    "help": ["--help"],
    "missing_value": ["--seed"],
}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"make_seeds.py: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def write_tokenizer(data_dir, work):
    text = os.path.join(work, "train.txt")
    with open(text, "w", encoding="utf-8") as f:
        f.write(TRAINING_TEXT * 3)
    run([PY, os.path.join(ROOT, "tools", "train", "train_bpe.py"), "--vocab-size", "300", "--min-frequency", "2",
         "--out-dir", data_dir, text])


def write_models(data_dir, out_dir, work):
    os.makedirs(out_dir, exist_ok=True)
    for name, (dims, dtype, with_tok) in MODELS.items():
        ckpt = os.path.join(work, name)
        cmd = [PY, os.path.join(ROOT, "tools", "make_checkpoint.py"), *dims, "--seed", "7", "-o", ckpt]
        if with_tok:
            cmd += ["--tokenizer-from", data_dir]
        run(cmd)
        out = os.path.join(out_dir, name + ".hmoe")
        run([PY, os.path.join(ROOT, "tools", "convert.py"), ckpt, "-o", out, "--dtype", dtype,
             "--name", name, "-q"])
        check_size(out)


def write_quantized(hmoe, out_dir, work):
    ckpt = os.path.join(work, "quant_base")
    run([PY, os.path.join(ROOT, "tools", "make_checkpoint.py"), *QUANT_BASE, "--seed", "7", "-o", ckpt])
    run([PY, os.path.join(ROOT, "tools", "convert.py"), ckpt, "-o", os.path.join(work, "quant_base.hmoe"),
         "--name", "quant_base", "-q"])
    for name, (source, options) in QUANTIZED.items():
        src = os.path.join(work if source == "quant_base" else out_dir, source + ".hmoe")
        out = os.path.join(out_dir, name + ".hmoe")
        run([hmoe, "quantize", src, out, *options])
        check_size(out)


def check_size(path):
    size = os.path.getsize(path)
    if size > MAX_SEED_BYTES:
        sys.exit(f"make_seeds.py: {path} is {size} bytes, over the {MAX_SEED_BYTES}-byte seed limit")
    print(f"{os.path.relpath(path, ROOT)}: {size} bytes")


def write_files(out_dir, files):
    os.makedirs(out_dir, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)


def main() -> int:
    ap = argparse.ArgumentParser(description="Regenerates the fuzz seed corpora.")
    ap.add_argument("--hmoe", required=True, help="the built hmoe executable (for `hmoe quantize`)")
    args = ap.parse_args()
    data_dir = os.path.join(HERE, "data")
    corpus = os.path.join(HERE, "corpus")
    os.makedirs(data_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hmoe_seeds_") as work:
        write_tokenizer(data_dir, work)
        shutil.rmtree(os.path.join(corpus, "model_loader"), ignore_errors=True)
        write_models(data_dir, os.path.join(corpus, "model_loader"), work)
        write_quantized(os.path.abspath(args.hmoe), os.path.join(corpus, "model_loader"), work)
    write_files(os.path.join(corpus, "tokenizer"), TOKENIZER_SEEDS)
    write_files(os.path.join(corpus, "cli_args"), {k: b"\0".join(a.encode() for a in v) for k, v in CLI_SEEDS.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
