"""Reading and writing the corpus and token-id files shared by the tokenizer
agreement tests (make_corpus.py, gpt2_reference.py, encode_with_gpt3_encoder.js and
tokenizer_agreement.cpp).

corpus.bin: a sequence of documents, each
    u32 flags | u32 name length | name (UTF-8) | u32 text length | text (UTF-8)
ids.bin: one record per document, in the same order, each
    u32 count | count x i32 token ids   (-1 stands for an id the encoder could not give)
All integers little-endian.

Flags say which reference is known to tokenize a document differently from GPT-2
itself, so that comparison skips it (and reports whether the difference is still there):
"""
import struct

SKIP_GPT3_ENCODER = 1  # the npm package gpt-3-encoder differs from GPT-2 here (see README.md)


def write_corpus(path, docs):
    """docs: iterable of (flags, name, text)."""
    with open(path, "wb") as f:
        for flags, name, text in docs:
            n = name.encode("utf-8")
            t = text.encode("utf-8")
            f.write(struct.pack("<II", flags, len(n)) + n + struct.pack("<I", len(t)) + t)


def read_corpus(path):
    with open(path, "rb") as f:
        data = f.read()
    docs, pos = [], 0
    while pos < len(data):
        flags, nlen = struct.unpack_from("<II", data, pos)
        pos += 8
        name = data[pos:pos + nlen].decode("utf-8")
        pos += nlen
        (tlen,) = struct.unpack_from("<I", data, pos)
        pos += 4
        docs.append((flags, name, data[pos:pos + tlen].decode("utf-8")))
        pos += tlen
    return docs


def write_ids(path, id_lists):
    with open(path, "wb") as f:
        for ids in id_lists:
            f.write(struct.pack("<I", len(ids)))
            f.write(struct.pack("<%di" % len(ids), *ids))
