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
  data/spm_bytes.model,              two SentencePiece unigram models (python3-sentencepiece)
  data/spm_rules.model               trained on Apache-2.0's text: byte fallback and no
                                     normalization (reversible), and 250 pieces with a few
                                     normalization rules of our own (a small charsmap)
  corpus/model_loader/hyper_n4k1_f16_spm.hmoe  hyper_n4k1_f16_tok with spm_rules and 50
                                     sentinels as its tokenizer (kind SENTENCEPIECE)
  corpus/sentencepiece/*             inputs in fuzz_sentencepiece.cpp's format

`--sentencepiece-only` regenerates just the SentencePiece files (the rest unchanged).

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


# SentencePiece models (fuzz_sentencepiece.cpp, bad inputs F25..F27). A model trained by
# this Debian's python3-sentencepiece from the same text is the same model, but the
# committed bytes are what the tests use.
SPM_TEXT = "/usr/share/common-licenses/Apache-2.0"
# Our own normalization rules (code points, hex): fullwidth A and B, A + combining acute,
# the Ohm sign, the fi ligature, the ideographic space.
SPM_RULES_TSV = "FF21\t41\nFF22\t42\n41 301\tC1\n2126\t3A9\nFB01\t66 69\n3000\t20\n"
SPM_COMMON = dict(model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1, minloglevel=2,
                  character_coverage=0.9995, shuffle_input_sentence=False)
SPM_MODELS = {
    "spm_bytes": dict(vocab_size=400, byte_fallback=True, normalization_rule_name="identity",
                      remove_extra_whitespaces=False),
    "spm_rules": dict(vocab_size=250, byte_fallback=False),  # normalization_rule_tsv added below
}
SPM_SENTINELS = 50  # spm_rules' 250 pieces + 50 = the seed model's vocab_size of 300

# fuzz_sentencepiece.cpp: the first byte picks the mode (see that file); 1 and 2 get
# the models' bytes and spm_rules' charsmap appended by spm_seeds().
SPM_TEXT_SEEDS = {
    "text_ascii": b"\x00" + b"The quick brown fox jumps over the lazy dog. It's 42!",
    "text_special": b"\x00" + b"a</s>b<pad> <unk><extra_id_0>x<extra_id_49> </s",
    "text_rules": b"\x00" + "\uff21\uff22 A\u0301 \u2126 \ufb01\u3000x".encode("utf-8"),
    "text_invalid_utf8": b"\x00" + b"caf\xe9 \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 ok",
    "text_spaces": b"\x00" + b"  \t\n\n   x  \r\n \xe2\x96\x81 12   345 \xc2\xa0end ",
}


def proto_field(message: bytes, number: int) -> bytes:
    """The body of the first length-delimited field `number` of a protobuf message."""
    pos = 0

    def varint():
        nonlocal pos
        v = shift = 0
        while True:
            b = message[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    while pos < len(message):
        key = varint()
        wire = key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            n = varint()
            if key >> 3 == number:
                return message[pos:pos + n]
            pos += n
        else:
            raise ValueError("unexpected wire type %d" % wire)
    raise ValueError("no field %d" % number)


def write_spm_models(data_dir, work):
    import io
    import sentencepiece  # Debian's python3-sentencepiece
    with open(SPM_TEXT, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() + TRAINING_TEXT.splitlines() if line.strip()]
    rules = os.path.join(work, "rules.tsv")
    with open(rules, "w", encoding="utf-8") as f:
        f.write(SPM_RULES_TSV)
    models = {}
    for name, settings in SPM_MODELS.items():
        extra = {"normalization_rule_tsv": rules} if name == "spm_rules" else {}
        buf = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, **SPM_COMMON,
                                                 **settings, **extra)
        models[name] = buf.getvalue()
        write_files(data_dir, {name + ".model": models[name]})
        print(f"tests/fuzz/data/{name}.model: {len(models[name])} bytes")
    return models


def write_spm_seed_model(models, out_dir):
    """hyper_n4k1_f16_tok.hmoe with spm_rules (and 50 sentinels) as its tokenizer."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from hmoe_ref.hmoe_file import read_hmoe
    from hmoe_ref.hmoe_writer import PlannedTensor, write_hmoe
    from hmoe_ref.file_layout import F16, F32, I32
    from hmoe_ref.tokenizer_files import t5_tokenizer
    src = read_hmoe(os.path.join(out_dir, "hyper_n4k1_f16_tok.hmoe"))
    tensors = []
    for name, e in src.tensors.items():
        values = src.array(name) if e.dtype in (F16, F32, I32) else src.raw(name)
        tensors.append(PlannedTensor(name, e.dtype, tuple(e.shape), lambda v=values: v))
    tok = t5_tokenizer(models["spm_rules"], SPM_MODELS["spm_rules"]["vocab_size"], extra_ids=SPM_SENTINELS)
    out = os.path.join(out_dir, "hyper_n4k1_f16_spm.hmoe")
    meta = dict(src.metadata)
    meta["general.name"] = "hyper_n4k1_f16_spm"
    write_hmoe(out, src.hparams, tok, list(meta.items()), tensors, arch=src.arch)
    check_size(out)


def spm_seeds(models):
    seeds = dict(SPM_TEXT_SEEDS)
    for name, data in models.items():
        seeds["model_" + name] = b"\x01" + data
    seeds["charsmap_rules"] = b"\x02" + proto_field(proto_field(models["spm_rules"], 3), 2)
    return seeds


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
    ap.add_argument("--hmoe", help="the built hmoe executable (for `hmoe quantize`)")
    ap.add_argument("--sentencepiece-only", action="store_true", help="only the SentencePiece files")
    args = ap.parse_args()
    if not args.hmoe and not args.sentencepiece_only:
        ap.error("--hmoe is required (except with --sentencepiece-only)")
    data_dir = os.path.join(HERE, "data")
    corpus = os.path.join(HERE, "corpus")
    os.makedirs(data_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hmoe_seeds_") as work:
        if not args.sentencepiece_only:
            write_tokenizer(data_dir, work)
            shutil.rmtree(os.path.join(corpus, "model_loader"), ignore_errors=True)
            write_models(data_dir, os.path.join(corpus, "model_loader"), work)
            write_quantized(os.path.abspath(args.hmoe), os.path.join(corpus, "model_loader"), work)
        models = write_spm_models(data_dir, work)
        write_spm_seed_model(models, os.path.join(corpus, "model_loader"))
    shutil.rmtree(os.path.join(corpus, "sentencepiece"), ignore_errors=True)
    write_files(os.path.join(corpus, "sentencepiece"), spm_seeds(models))
    if args.sentencepiece_only:
        return 0
    write_files(os.path.join(corpus, "tokenizer"), TOKENIZER_SEEDS)
    write_files(os.path.join(corpus, "cli_args"), {k: b"\0".join(a.encode() for a in v) for k, v in CLI_SEEDS.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
