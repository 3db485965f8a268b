"""Tokenizer files as the .hmoe header stores them: GPT-2's vocab.json + merges.txt, and
T5's SentencePiece model (spiece.model), kept as its serialized bytes."""
from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Optional

VOCAB_NAME = "vocab.json"
MERGES_NAME = "merges.txt"
EOS_TOKEN = "<|endoftext|>"
SPIECE_NAME = "spiece.model"


class TokenizerFilesError(ValueError):
    pass


@dataclasses.dataclass
class GPT2Tokenizer:
    vocab: List[str]    # vocab[id]: the token in GPT-2's byte-to-unicode spelling
    merges: List[str]   # in rank order, "left right"
    eos_id: int = -1
    bos_id: int = -1


def read_gpt2_tokenizer(folder: str, vocab_size: Optional[int] = None) -> Optional[GPT2Tokenizer]:
    """None when the folder has neither file; refuses one without the other."""
    vpath, mpath = os.path.join(folder, VOCAB_NAME), os.path.join(folder, MERGES_NAME)
    has_v, has_m = os.path.exists(vpath), os.path.exists(mpath)
    if not has_v and not has_m:
        return None
    if has_v != has_m:
        raise TokenizerFilesError(f"'{folder}' has {VOCAB_NAME if has_v else MERGES_NAME} "
                                  f"but not {MERGES_NAME if has_v else VOCAB_NAME}")
    try:
        with open(vpath, encoding="utf-8") as f:
            table = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TokenizerFilesError(f"'{vpath}' is not valid JSON: {e}") from None
    if not isinstance(table, dict) or not table:
        raise TokenizerFilesError(f"'{vpath}' is not a non-empty JSON object of token -> id")
    vocab: List[Optional[str]] = [None] * len(table)
    for tok, i in table.items():
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(table) or vocab[i] is not None:
            raise TokenizerFilesError(
                f"'{vpath}': token {tok!r} has id {i!r}; ids must be 0..{len(table) - 1}, each once")
        vocab[i] = tok
    if vocab_size is not None and len(vocab) > vocab_size:
        raise TokenizerFilesError(f"'{vpath}' has {len(vocab)} tokens, more than vocab_size = {vocab_size}")
    merges: List[str] = []
    with open(mpath, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if (n == 1 and line.startswith("#version")) or not line:
                continue
            if len(line.split(" ")) != 2:
                raise TokenizerFilesError(f"'{mpath}' line {n}: expected 'left right', got {line!r}")
            merges.append(line)
    return GPT2Tokenizer(vocab=vocab, merges=merges, eos_id=table.get(EOS_TOKEN, -1))


# --- SentencePiece (T5) -------------------------------------------------------------

T5_EXTRA_IDS = 100  # Hugging Face's T5Tokenizer default (extra_ids=100)


@dataclasses.dataclass
class SentencePieceTokenizer:
    """A T5-style tokenizer table: the SentencePiece model's bytes (None: kind NONE, the
    model takes token ids only, but the special ids the runtime needs without it are
    still written: eos ends generation; the decoder starts from its own start token, in
    the hparams), and the tokens the runtime adds after the model's pieces (the table's
    `vocab`, in id order: T5's sentinels)."""
    sp_model: Optional[bytes]
    eos_id: int = -1
    pad_id: int = -1
    bos_id: int = -1
    added: List[str] = dataclasses.field(default_factory=list)


def t5_sentinels(sp_size: int, n: int = T5_EXTRA_IDS) -> List[str]:
    """T5's sentinels in id order: <extra_id_k> has id sp_size + n - 1 - k, so the list
    runs from <extra_id_{n-1}> (id sp_size) down to <extra_id_0> (id sp_size + n - 1)."""
    del sp_size  # the ids follow from the position in the list; kept for the caller's clarity
    return [f"<extra_id_{k}>" for k in reversed(range(n))]


def t5_tokenizer(sp_model: bytes, sp_size: int, extra_ids: int = T5_EXTRA_IDS, eos_id: int = 1,
                 pad_id: int = 0) -> SentencePieceTokenizer:
    """T5's conventions (Hugging Face's T5Tokenizer): pad 0, eos 1 (appended to every
    text), no bos, `extra_ids` sentinels after the model's `sp_size` pieces."""
    return SentencePieceTokenizer(sp_model=sp_model, added=t5_sentinels(sp_size, extra_ids), eos_id=eos_id,
                                  bos_id=-1, pad_id=pad_id)


def sp_piece_count(sp_model: bytes) -> Optional[int]:
    """How many pieces a serialized SentencePiece model holds (its repeated field 1), read
    off the protobuf wire format; None when the bytes are not a well-formed message with
    pieces."""
    pos, n, count = 0, len(sp_model), 0

    def varint():
        nonlocal pos
        v = shift = 0
        while shift < 64:
            if pos >= n:
                raise ValueError
            b = sp_model[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v
        raise ValueError

    try:
        while pos < n:
            key = varint()
            wire = key & 7
            if key >> 3 == 0:
                return None
            if wire == 0:
                varint()
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
            elif wire == 2:
                length = varint()  # (not `pos += varint()`: that reads pos before varint moves it)
                pos += length
                count += (key >> 3) == 1
            else:
                return None
            if pos > n:
                return None
    except ValueError:
        return None
    return count or None


def read_spiece(folder: str) -> Optional[bytes]:
    """The bytes of the folder's spiece.model, or None when it has none. The runtime
    parses them (a SentencePiece ModelProto); here only an empty file is refused."""
    path = os.path.join(folder, SPIECE_NAME)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise TokenizerFilesError(f"'{path}' is empty")
    return data
