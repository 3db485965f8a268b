#!/usr/bin/env python3
"""Train a SentencePiece unigram tokenizer with T5's conventions on text-to-text TSVs.

    train_spm.py --vocab-size 4096 --out-dir OUT/tok OUT/data/testament.train.tsv OUT/data/newtestament.train.tsv

Trained with Debian's python3-sentencepiece on the training rows only: every row's
input and expected output, each as one sentence, as the model reads them (so the task
prefixes and the label words are pieces of their own). T5's conventions: pad 0 `<pad>`,
eos 1 `</s>`, unk 2 `<unk>`, no bos; normalisation nmt_nfkc (SentencePiece's and T5's
default). The model appends `</s>` to every encoded input and target, and decoding
starts from decoder_start_token_id 0 (the pad id); see encode_t5 below.

Output: OUT_DIR/spiece.model (the file a checkpoint carries) and spiece.vocab (the
pieces with their scores, for reading). Deterministic: one thread, sentences in file
order, no sampling.
"""

import argparse
import io
import os
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from t2t_tsv import read_rows  # noqa: E402

PAD_ID, EOS_ID, UNK_ID = 0, 1, 2


def training_sentences(paths):
    for path in paths:
        for row in read_rows(path):
            yield from row


def train(paths, out_dir, vocab_size):
    """Writes out_dir/spiece.model and spiece.vocab; returns the model's path. The model
    goes through a memory buffer so that no output path is recorded in it: the same
    data gives the same bytes wherever it is written."""
    os.makedirs(out_dir, exist_ok=True)
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=training_sentences(paths), model_writer=buffer, model_type="unigram",
        vocab_size=vocab_size, character_coverage=1.0, normalization_rule_name="nmt_nfkc",
        pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1,
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        input_sentence_size=0, shuffle_input_sentence=False, num_threads=1,
        minloglevel=2)
    path = os.path.join(out_dir, "spiece.model")
    with open(path, "wb") as f:
        f.write(buffer.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buffer.getvalue())
    with open(os.path.join(out_dir, "spiece.vocab"), "w", encoding="utf-8") as f:
        for i in range(sp.get_piece_size()):
            f.write(f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}\n")
    return path


def load(path):
    """A SentencePieceProcessor of spiece.model (a file or a folder holding one),
    checked for T5's special ids."""
    if os.path.isdir(path):
        path = os.path.join(path, "spiece.model")
    sp = spm.SentencePieceProcessor(model_file=path)
    got = (sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id())
    if got != (PAD_ID, EOS_ID, UNK_ID, -1):
        raise ValueError(f"{path}: pad/eos/unk/bos ids are {got}, T5's are (0, 1, 2, -1)")
    return sp


def encode_t5(sp, text):
    """T5's encoding: the pieces' ids, then </s>."""
    return sp.encode(text) + [EOS_ID]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tsv", nargs="+", help="training TSVs (input, expected output)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--vocab-size", type=int, default=4096)
    args = ap.parse_args(argv)
    model = train(args.tsv, args.out_dir, args.vocab_size)
    sp = load(model)
    pieces = tokens = 0
    for text in training_sentences(args.tsv):
        tokens += len(encode_t5(sp, text))
        pieces += 1
    print(f"{model}: {sp.get_piece_size()} pieces; {pieces} training sentences, "
          f"{tokens / pieces:.1f} tokens each with </s>")


if __name__ == "__main__":
    main()
