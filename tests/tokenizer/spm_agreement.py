#!/usr/bin/python3
"""SentencePiece agreement: the runtime's ids and decoded text against Debian's
python3-sentencepiece, document by document, for each .hmoe file given (made by
make_spm_models.py).

The corpus: make_corpus.py's documents (1.95 MB in 24 scripts: licenses, C headers,
prose, numbers, whitespace runs, code, random code points, very long pieces) plus the
documents of extra_docs() below (control characters, special tokens' text, invalid
UTF-8, characters the models cannot know, normalization cases).

What is compared, per model and document:
  1. spm_roundtrip (the runtime through load_model_tokenizer) and `hmoe tokenize -f DOC
     --json --pieces` (the CLI on the .hmoe file) must give the ids the reference below
     gives, and the CLI the reference's pieces;
  2. spm_roundtrip's decode of those ids, skipping special tokens and writing them,
     must equal the reference's.

The reference is python3-sentencepiece with the rules the runtime documents
(runtime/text/sentencepiece_tokenizer.h) on top: the file's bos before and eos after
every text; special tokens' text (control pieces, the unknown piece, the file's
eos/bos/pad, the added tokens) cut out first, longest first, and each stretch between
encoded on its own; decoding stretches between special tokens with sentencepiece's
decode, special tokens written as their text or skipped. Invalid UTF-8 documents go to
both sides as bytes.

    spm_agreement.py --hmoe HMOE --roundtrip SPM_ROUNDTRIP --work DIR [--cli-every K] MODEL.hmoe...
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

import make_corpus  # noqa: E402
import sentencepiece  # noqa: E402
from hmoe_ref.hmoe_file import read_hmoe  # noqa: E402
from hmoe_ref.tokenizer_files import SentencePieceTokenizer  # noqa: E402

INVALID_UTF8 = 4  # as spm_roundtrip.cpp


def extra_docs():
    """(flags, name, bytes) beyond make_corpus.py's."""
    texts = {
        "controls": "\x00a\x01b\x07\x08c\td\x0be\x0cf\rg\x1b[31mred\x1b[0m\x7f h\u0085i\u200bj\u200dk\ufeffl\u2028m",
        "nul_only": "\x00\x00\x00",
        "specials": "Hello</s> world<extra_id_0> x <pad><unk> y<s>z <extra_id_99><extra_id_100> </s></s>",
        "specials_partial": "<extra_id_0 <extra_id_ </s <pad <unk> <<pad>> <extra_id_0>>",
        "specials_edges": "</s>text at the start and at the end</s>",
        "user_symbols": "a<sep>b [MASK] c<sep><sep>[MASK]d",
        "empty": "",
        "spaces_only": "     ",
        "newlines_only": "\n\n\n",
        "leading_trailing": "   leading and trailing spaces   ",
        "tabs": "\tt\t\tab\t \t",
        "unicode_spaces": "a\u00a0b\u2003c\u3000d\u202fe\u205ff\u1680g",
        "nfkc": "ﬁﬂ ＡＢＣ１２３ ① ² ½ ™ ㎏ ｶﾀｶﾅ e\u0301 é A\u030a Å \u1100\u1161\u11a8 각 Ω Ω",
        "accents": "àéîõü ÀÉÎÕÜ çÇ ñÑ ßẞ øØ åÅ æÆ œŒ ąęłńśźż ğışİ ţșț ğ ḥṣṭ ǎěǐǒǔ",
        "digits": "0 1 12 123 1234 12345 3.14159 1,000,000 1e-9 0x1F 007 ٣٤ ०१२ ０１２",
        "emoji": "👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ 1️⃣ 🏳️‍🌈 🫠 🦩 🧑🏿‍🚀",
        "unknown": "\ue000\uf8ff \U000f0000 \u0378\u0379 \uffff\ufffe \U00020000\U0002a6d6 \U000e0041\U000e007f ꙮ 𓀀 𝔘𝔫𝔦",
        "replacement_char": "a\ufffdb \ufffd",
        "cjk": "漢字かなカナ한국어 中文測試 「引用」『二重』【括弧】〜・ー",
        "rtl": "مرحبا بالعالم שלום עולם \u200fرتب\u200e",
        "long_spaces": "x" + " " * 1000 + "y" + "\n" * 500 + "z",
        "long_unknown": "\ue000" * 2000,
        "long_word": "abcdefghij" * 1000,
    }
    docs = [(0, "extra/" + k, v.encode("utf-8")) for k, v in texts.items()]
    invalid = {
        "ff": b"abc\xff def",
        "truncated": b"caf\xc3",
        "overlong": b"\xc0\xaf\xe0\x80\xaf slash",
        "surrogate": b"\xed\xa0\x80x\xed\xbf\xbf",
        "past_max": b"\xf4\x90\x80\x80 \xf8\x88\x80\x80\x80",
        "continuation": b"\x80\x80\xbf text \x80",
        "latin1": "Grüße aus Köln, ça va très bien".encode("latin-1"),
        "mixed": "ok é ".encode("utf-8") + b"\xe9\xe8 " + "中文".encode("utf-8") + b"\xe4\xb8",
        "with_special": b"\xff</s>\xfe<extra_id_1>\xfd",
    }
    docs += [(INVALID_UTF8, "invalid/" + k, v) for k, v in invalid.items()]
    return docs


def corpus():
    docs, _ = make_corpus.build_docs()
    return [(0, name, text.encode("utf-8")) for _, name, text in docs] + extra_docs()


def write_corpus(path, docs):
    with open(path, "wb") as f:
        for flags, name, data in docs:
            n = name.encode("utf-8")
            f.write(struct.pack("<II", flags, len(n)) + n + struct.pack("<I", len(data)) + data)


def read_results(path, count):
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, pos)
        pos += 4
        ids = list(struct.unpack_from("<%di" % n, data, pos))
        pos += 4 * n
        texts = []
        for _ in range(2):
            (m,) = struct.unpack_from("<I", data, pos)
            pos += 4
            texts.append(data[pos:pos + m])
            pos += m
        out.append((ids, texts[0], texts[1]))
    if pos != len(data):
        sys.exit("%s: %d bytes left over" % (path, len(data) - pos))
    return out


class Reference:
    def __init__(self, hmoe_path):
        tok = read_hmoe(hmoe_path).tokenizer
        if not isinstance(tok, SentencePieceTokenizer):
            sys.exit("%s carries no SentencePiece tokenizer" % hmoe_path)
        self.sp = sentencepiece.SentencePieceProcessor(model_proto=tok.sp_model)
        self.n_model = self.sp.get_piece_size()
        self.added = tok.added
        self.eos, self.bos, self.pad = tok.eos_id, tok.bos_id, tok.pad_id
        special = {i for i in range(self.n_model) if self.sp.is_control(i) or self.sp.is_unknown(i)}
        special |= {i for i in (self.eos, self.bos, self.pad) if i >= 0}
        special |= set(range(self.n_model, self.n_model + len(self.added)))
        self.special = special
        self.special_id = {self.piece(i).encode("utf-8"): i for i in special}
        texts = sorted(self.special_id, key=len, reverse=True)
        self.pattern = re.compile(b"|".join(re.escape(t) for t in texts))

    def piece(self, i):
        return self.sp.id_to_piece(i) if i < self.n_model else self.added[i - self.n_model]

    def encode(self, data):
        ids = [self.bos] if self.bos >= 0 else []
        pos = 0
        for m in self.pattern.finditer(data):
            if m.start() > pos:
                ids += self.sp.encode(data[pos:m.start()])
            ids.append(self.special_id[m.group()])
            pos = m.end()
        if pos < len(data):
            ids += self.sp.encode(data[pos:])
        if self.eos >= 0:
            ids.append(self.eos)
        return ids

    def decode(self, ids, skip):
        out, run = b"", []
        for i in ids:
            if i not in self.special:
                run.append(i)
            elif not skip:
                out += self.sp.decode(run).encode("utf-8") + self.piece(i).encode("utf-8")
                run = []
        return out + self.sp.decode(run).encode("utf-8")


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hmoe", required=True, help="the hmoe binary (or its emulator launcher)")
    ap.add_argument("--roundtrip", required=True, help="the spm_roundtrip binary (or its launcher)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--cli-every", type=int, default=1,
                    help="run `hmoe tokenize` on every K-th document only (emulated builds: each run is slow)")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    docs = corpus()
    corpus_path = os.path.join(args.work, "spm_corpus.bin")
    write_corpus(corpus_path, docs)
    total_bytes = sum(len(d) for _, _, d in docs)
    invalid = sum(1 for f, _, _ in docs if f & INVALID_UTF8)
    print("corpus: %d documents (%d not UTF-8), %d bytes" % (len(docs), invalid, total_bytes))

    failures = []
    for model in args.models:
        label = os.path.basename(model)
        ref = Reference(model)
        out = os.path.join(args.work, label + ".results.bin")
        r = subprocess.run([args.roundtrip, model, corpus_path, out], capture_output=True, text=True, errors="replace")
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            failures.append("%s: spm_roundtrip exited %d: %s" % (label, r.returncode, r.stderr.strip()[-2000:]))
            continue
        results = read_results(out, len(docs))
        ids_same = dec_same = 0
        tokens = 0
        exact_text = 0
        for (flags, name, data), (ids, dec_skip, dec_all) in zip(docs, results):
            want = ref.encode(data)
            tokens += len(want)
            if ids != want:
                i = first_difference(ids, want)
                failures.append("%s %s: ids differ at %d: runtime %s, sentencepiece %s" % (
                    label, name, i, ids[i:i + 8], want[i:i + 8]))
                continue
            ids_same += 1
            want_skip, want_all = ref.decode(ids, True), ref.decode(ids, False)
            if dec_skip != want_skip or dec_all != want_all:
                which = "skipping specials" if dec_skip != want_skip else "writing specials"
                got, exp = (dec_skip, want_skip) if dec_skip != want_skip else (dec_all, want_all)
                i = first_difference(got, exp)
                failures.append("%s %s: decoding (%s) differs at byte %d: runtime %r, sentencepiece %r" % (
                    label, name, which, i, got[i:i + 40], exp[i:i + 40]))
                continue
            dec_same += 1
            exact_text += dec_skip == data
        print("%s: ids identical on %d/%d documents (%d tokens); decoding identical on %d; "
              "%d decode back to their exact bytes" % (label, ids_same, len(docs), tokens, dec_same, exact_text))

        # The CLI, on the file itself.
        cli_docs = cli_bytes = 0
        doc_path = os.path.join(args.work, label + ".doc")
        for k, (flags, name, data) in enumerate(docs):
            if k % args.cli_every:
                continue
            with open(doc_path, "wb") as f:
                f.write(data)
            cmd = [args.hmoe, "tokenize", "-m", model, "-f", doc_path, "--json", "--pieces"]
            if flags & INVALID_UTF8:
                cmd.append("--allow-invalid-utf8")
            r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
            if r.returncode != 0:
                failures.append("%s %s: hmoe tokenize exited %d: %s" % (label, name, r.returncode, r.stderr.strip()))
                continue
            got = json.loads(r.stdout)
            want = ref.encode(data)
            if got["ids"] != want or got["count"] != len(want):
                i = first_difference(got["ids"], want)
                failures.append("%s %s: hmoe tokenize ids differ at %d: %s, sentencepiece %s" % (
                    label, name, i, got["ids"][i:i + 8], want[i:i + 8]))
                continue
            pieces = [ref.piece(i) for i in want]
            if got["pieces"] != pieces:
                i = first_difference(got["pieces"], pieces)
                failures.append("%s %s: hmoe tokenize pieces differ at %d: %r, sentencepiece %r" % (
                    label, name, i, got["pieces"][i:i + 4], pieces[i:i + 4]))
                continue
            cli_docs += 1
            cli_bytes += len(data)
        print("%s: `hmoe tokenize` ids and pieces identical on %d documents (%d bytes)" % (label, cli_docs, cli_bytes))

    for f in failures[:40]:
        print("FAIL " + f)
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("all identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
