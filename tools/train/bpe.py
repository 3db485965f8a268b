"""GPT-2 byte-level BPE: the byte-to-unicode map, the pre-tokenizer and an encoder.

Shared by train_bpe.py (which learns merges) and train.py / eval_ppl.py (which encode
text with them). The files it reads and train_bpe.py writes are GPT-2's own formats:
vocab.json maps each token, spelled in the byte-to-unicode alphabet, to its id;
merges.txt starts with "#version: 0.2" and lists one merge "left right" per line in
rank order. So the project's C++ tokenizer and tools/convert.py read them unchanged.

Needs Python's `regex` module for \\p{L} / \\p{N} (Debian: python3-regex).
"""

import json

try:
    import regex
except ImportError as exc:  # the stdlib `re` has no \p{...} classes
    raise SystemExit("error: the 'regex' module is missing; on Debian: "
                     "apt-get install python3-regex") from exc

END_OF_TEXT = "<|endoftext|>"

# GPT-2's pre-tokenization: contractions, letters, digits, other symbols, each with
# at most one leading space, and runs of whitespace. Merges never cross these pieces.
GPT2_PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable unicode characters.

    Printable Latin-1 bytes map to themselves; the other 68 (controls, space, ...)
    map to U+0100 onwards, so every token is a string without whitespace or controls.
    The order of the returned dict (printable bytes first) is the order of the first
    256 ids in GPT-2's vocabulary.
    """
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    byte_values = printable[:]
    code_points = printable[:]
    extra = 0
    for b in range(256):
        if b not in byte_values:
            byte_values.append(b)
            code_points.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(byte_values, code_points)}


BYTE_TO_UNICODE = bytes_to_unicode()
UNICODE_TO_BYTE = {c: b for b, c in BYTE_TO_UNICODE.items()}


def split_special(text):
    """Split text on END_OF_TEXT: [(piece, is_special), ...], empty pieces dropped."""
    out = []
    for i, piece in enumerate(text.split(END_OF_TEXT)):
        if i > 0:
            out.append((END_OF_TEXT, True))
        if piece:
            out.append((piece, False))
    return out


def pretokenize(text):
    """GPT-2 pre-tokens of ordinary text, each spelled in the byte-to-unicode alphabet."""
    return ["".join(BYTE_TO_UNICODE[b] for b in piece.encode("utf-8"))
            for piece in GPT2_PATTERN.findall(text)]


def write_tokenizer(vocab_path, merges_path, vocab, merges):
    """vocab: list of token strings (index = id); merges: list of (left, right)."""
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump({token: i for i, token in enumerate(vocab)}, f, ensure_ascii=False)
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for left, right in merges:
            f.write(f"{left} {right}\n")


class Tokenizer:
    """GPT-2 encoder over a vocab.json + merges.txt pair."""

    def __init__(self, vocab_path, merges_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.token_to_id = json.load(f)
        self.id_to_token = {i: t for t, i in self.token_to_id.items()}
        self.ranks = {}
        with open(merges_path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if number == 1 and line.startswith("#version"):
                    continue
                if not line:
                    continue
                parts = line.split(" ")
                if len(parts) != 2:
                    raise ValueError(f"{merges_path}:{number}: expected 'left right', got {line!r}")
                self.ranks[(parts[0], parts[1])] = len(self.ranks)
        if END_OF_TEXT not in self.token_to_id:
            raise ValueError(f"{vocab_path} has no {END_OF_TEXT} token")
        self.eot_id = self.token_to_id[END_OF_TEXT]
        self._cache = {}

    def __len__(self):
        return len(self.token_to_id)

    def _bpe(self, word):
        """Apply merges to one pre-token, lowest rank first, as GPT-2 does."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = list(word)
        while len(symbols) > 1:
            best = min(zip(symbols, symbols[1:]),
                       key=lambda pair: self.ranks.get(pair, float("inf")))
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
        ids = [self.token_to_id[s] for s in symbols]
        self._cache[word] = ids
        return ids

    def encode(self, text):
        """Token ids of text; the literal <|endoftext|> becomes the special token."""
        ids = []
        for piece, special in split_special(text):
            if special:
                ids.append(self.eot_id)
            else:
                for word in pretokenize(piece):
                    ids.extend(self._bpe(word))
        return ids

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            token = self.id_to_token[i]
            if token == END_OF_TEXT:
                data.extend(token.encode("utf-8"))
            else:
                data.extend(UNICODE_TO_BYTE[c] for c in token)
        return data.decode("utf-8", errors="replace")
