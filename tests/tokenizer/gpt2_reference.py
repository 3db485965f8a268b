#!/usr/bin/env python3
"""An independent reference for GPT-2's tokenizer, written from the published
algorithm (encoder.py of openai/gpt-2): the `regex` module's pre-tokenizer pattern,
the byte-to-unicode map and rank-ordered merges. It needs Debian's python3-regex;
without it the script exits 77, which ctest reports as skipped.

    gpt2_reference.py ENCODER_JSON VOCAB_BPE CORPUS_BIN OUT_IDS_BIN
"""
import json
import sys

try:
    import regex
except ImportError:
    print("SKIPPED: Python module 'regex' (Debian package python3-regex) is not installed")
    sys.exit(77)

import corpus_format

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_alphabet():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class Gpt2Reference:
    def __init__(self, encoder_json, vocab_bpe):
        with open(encoder_json, encoding="utf-8") as f:
            self.ids = json.load(f)
        with open(vocab_bpe, encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(line.split()) for line in lines[1:] if line.strip()]
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.alphabet = byte_alphabet()
        self.cache = {}

    def merge(self, word):
        symbols = list(word)
        while len(symbols) > 1:
            pairs = set(zip(symbols, symbols[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return symbols

    def encode(self, text):
        out = []
        for piece in PATTERN.findall(text):
            word = "".join(self.alphabet[b] for b in piece.encode("utf-8"))
            ids = self.cache.get(word)
            if ids is None:
                ids = [self.ids[s] for s in self.merge(word)]
                self.cache[word] = ids
            out.extend(ids)
        return out


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    ref = Gpt2Reference(sys.argv[1], sys.argv[2])
    docs = corpus_format.read_corpus(sys.argv[3])
    corpus_format.write_ids(sys.argv[4], [ref.encode(text) for _, _, text in docs])
    print(f"encoded {len(docs)} documents with the regex-based reference (regex {regex.__version__})")


if __name__ == "__main__":
    main()
