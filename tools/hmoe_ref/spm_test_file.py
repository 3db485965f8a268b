"""A header-only .hmoe file (no tensors) that carries a SentencePiece tokenizer: enough
for `hmoe tokenize` and `hmoe inspect`, so tokenizer tests need no model weights.

    PYTHONPATH=tools /usr/bin/python3 -m hmoe_ref.spm_test_file SPIECE_MODEL -o OUT.hmoe [--t5]
        [--eos ID] [--bos ID] [--pad ID] [--extra-ids N] [--vocab-size N]

--t5 takes T5's conventions (pad 0, eos 1, no bos, 100 sentinels); otherwise the ids
default to the model's own (its trainer settings) and no tokens are added.
--vocab-size defaults to the tokenizer's size rounded up to a multiple of 128, as T5's
embedding table is (32,100 tokens, 32,128 rows). Needs Debian's python3-sentencepiece.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from . import schema as fbs
from .hmoe_writer import write_hmoe
from .tokenizer_files import T5_EXTRA_IDS, SentencePieceTokenizer, t5_sentinels


def model_info(sp_model: bytes):
    """(piece count, eos, bos, pad) as the model's trainer settings give them."""
    import sentencepiece  # Debian's python3-sentencepiece; only this helper needs it
    sp = sentencepiece.SentencePieceProcessor(model_proto=sp_model)
    return sp.get_piece_size(), sp.eos_id(), sp.bos_id(), sp.pad_id()


def write_tokenizer_file(path: str, tokenizer: SentencePieceTokenizer, vocab_size: Optional[int] = None,
                         sp_size: Optional[int] = None) -> int:
    """Writes `path` with the tokenizer, vocab_size (default: the tokenizer's size rounded
    up to 128) and no tensors; arch SWITCH_HYPERMOE. Returns the file size."""
    if sp_size is None:
        sp_size = model_info(tokenizer.sp_model)[0]
    n = sp_size + len(tokenizer.added)
    if vocab_size is None:
        vocab_size = (n + 127) // 128 * 128
    return write_hmoe(path, {"vocab_size": vocab_size}, tokenizer, [("general.name", "spm-test")], [],
                      arch=fbs.Arch.Arch.SWITCH_HYPERMOE)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a SentencePiece model (spiece.model)")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--t5", action="store_true", help="T5's ids and sentinels")
    ap.add_argument("--eos", type=int)
    ap.add_argument("--bos", type=int)
    ap.add_argument("--pad", type=int)
    ap.add_argument("--extra-ids", type=int, help=f"sentinels to add (--t5: {T5_EXTRA_IDS})")
    ap.add_argument("--vocab-size", type=int)
    args = ap.parse_args(argv)
    with open(args.model, "rb") as f:
        sp_model = f.read()
    size, eos, bos, pad = model_info(sp_model)
    if args.t5:
        eos, bos, pad = 1, -1, 0
    extra = args.extra_ids if args.extra_ids is not None else (T5_EXTRA_IDS if args.t5 else 0)
    tok = SentencePieceTokenizer(sp_model=sp_model, added=t5_sentinels(size, extra),
                                 eos_id=eos if args.eos is None else args.eos,
                                 bos_id=bos if args.bos is None else args.bos,
                                 pad_id=pad if args.pad is None else args.pad)
    n = write_tokenizer_file(args.output, tok, args.vocab_size, size)
    print(f"{args.output}: {n} bytes, {size} pieces + {extra} added, eos {tok.eos_id}, bos {tok.bos_id}, "
          f"pad {tok.pad_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
