#!/usr/bin/python3
"""Trains the SentencePiece models of the SentencePiece tests with Debian's
python3-sentencepiece, and writes header-only .hmoe files that carry them
(tools/hmoe_ref/spm_test_file.py). T5's own spiece.model cannot be downloaded here, so
these stand in for it:

  t5like   unigram, 4000 pieces, T5's settings: pad 0 `<pad>`, eos 1 `</s>`, unk 2
           `<unk>`, no bos, no byte fallback, nmt_nfkc normalization (its charsmap),
           character coverage 0.9995 (rarer characters are unknown), 100 sentinels
           <extra_id_k> added after the pieces, T5's conventions in the .hmoe file
  bytefb   unigram, 3000 pieces, byte fallback (unknown characters become byte pieces),
           a bos `<s>` 3 the file adds before every text, no normalization rules,
           whitespace kept as it is (no collapsing of runs), two user-defined symbols

Training text: /usr/share/common-licenses (every Debian system has it) and text
generated with make_corpus.py's generators under a seed of its own (English prose in
24 scripts, code, numbers), so the models know most of what the agreement corpus holds
but not all of it. Deterministic for a given Debian package set.

    make_spm_models.py OUT_DIR      -> OUT_DIR/{t5like,bytefb}.{model,hmoe}
"""
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

import make_corpus  # noqa: E402
import sentencepiece  # noqa: E402
from hmoe_ref.spm_test_file import write_tokenizer_file  # noqa: E402
from hmoe_ref.tokenizer_files import SentencePieceTokenizer, t5_tokenizer  # noqa: E402

COMMON = dict(model_type="unigram", num_threads=1, minloglevel=2, max_sentence_length=8192,
              shuffle_input_sentence=False, seed_sentencepiece_size=200000)
MODELS = {
    "t5like": dict(vocab_size=4000, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, byte_fallback=False,
                   character_coverage=0.9995, normalization_rule_name="nmt_nfkc"),
    "bytefb": dict(vocab_size=3000, pad_id=0, eos_id=1, unk_id=2, bos_id=3, byte_fallback=True,
                   character_coverage=0.9995, normalization_rule_name="identity",
                   remove_extra_whitespaces=False, user_defined_symbols=["<sep>", "[MASK]"]),
}


def training_lines():
    lines = []
    lic = make_corpus.LICENSE_DIR
    if os.path.isdir(lic):
        seen = set()
        for name in sorted(os.listdir(lic)):
            real = os.path.realpath(os.path.join(lic, name))
            if real in seen or not os.path.isfile(real):
                continue
            seen.add(real)
            lines += make_corpus.read_text(real).splitlines()
    rng = make_corpus.SplitMix64(7)
    for text in (make_corpus.prose(rng, 200_000), make_corpus.code(rng, 40_000), make_corpus.numbers(rng, 20_000)):
        lines += text.splitlines()
    return [line for line in lines if line.strip()]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = training_lines()
    for name, settings in MODELS.items():
        buf = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf,
                                                 **COMMON, **settings)
        sp_model = buf.getvalue()
        with open(os.path.join(out, name + ".model"), "wb") as f:
            f.write(sp_model)
        size = settings["vocab_size"]
        if name == "t5like":
            tok = t5_tokenizer(sp_model, size)
        else:
            tok = SentencePieceTokenizer(sp_model=sp_model, eos_id=settings["eos_id"], bos_id=settings["bos_id"],
                                         pad_id=settings["pad_id"])
        n = write_tokenizer_file(os.path.join(out, name + ".hmoe"), tok, sp_size=size)
        print("%s: %d training lines, model %d bytes, .hmoe %d bytes" % (name, len(lines), len(sp_model), n))


if __name__ == "__main__":
    main()
