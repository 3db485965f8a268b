#!/usr/bin/env python3
"""Builds the tokenizer agreement corpus (format: corpus_format.py), deterministically:
the same machine packages give the same bytes.

Sections:
  licenses   /usr/share/common-licenses (every Debian system has it)
  headers    C headers of libc6-dev and doctest-dev (packages this project builds with)
  prose      generated multilingual sentences: Latin scripts with accents, Greek,
             Cyrillic, Arabic, Hebrew, Indic scripts, Thai, CJK, Hangul, emoji,
             contractions, symbols
  numbers    integers, decimals, dates, versions, hex, long digit runs, non-ASCII digits
  spaces     runs of spaces, tabs, newlines, \\r\\n, Unicode spaces
  code       generated JSON, Python, Markdown, HTML, URLs, base64
  soup       random code points from every assigned (Unicode of this Python) block
  long       very long single pieces (letters, digits, punctuation, CJK)
  quirks     inputs where gpt-3-encoder is known to differ from GPT-2 (flagged)

    make_corpus.py OUT_CORPUS_BIN [MIN_BYTES]
"""
import os
import sys
import unicodedata

import corpus_format

DOC_BYTES = 8192  # documents are encoded one by one; gpt-3-encoder is quadratic in length


class SplitMix64:
    """A fixed PRNG, so the corpus does not depend on Python's random module."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def chance(self, percent):
        return self.below(100) < percent


WORDS = {
    "en": "the of and to in is was that for it with as his on be at by I had not are but from or have an they which "
          "one you were her all she there would their we him been has when who will more no if out so said what up "
          "its about into than them can only other new some could time these two may then do first any my now such "
          "like our over man me even most made after also did many before must through back years where much your way "
          "well down should because each just those people Mr how too little state good very make world still own see "
          "men work long get here between both life being under never day same another know while last might us "
          "great old year off come since against go came right used take three The In It He This But A When There "
          "tokenizer model inference runtime expert memory bandwidth gradient Transformer GPT embedding".split(),
    "fr": "le la les un une des et est été déjà français garçon œuvre naïve Noël où à très ça l'homme aujourd'hui "
          "qu'il c'est n'est j'ai élève forêt hôpital château coïncidence maïs Œdipe cœur bœuf ÉCOLE À".split(),
    "de": "der die das und ist nicht Straße Größe Mädchen über schön Fußgängerübergänge Äpfel Öl Übung "
          "Grüße weiß heißen Brötchen Donaudampfschifffahrtsgesellschaftskapitän ẞ".split(),
    "es": "el la los niño año ¿Qué ¡Hola! corazón pingüino mañana señor está también acción él sí".split(),
    "pt": "ação coração não informações você avó pão irmã português órgão".split(),
    "vi": "Tiếng Việt người đường chữ Hà Nội phở cảm ơn xin chào thương nhớ được những".split(),
    "pl": "źdźbło łódź zażółć gęślą jaźń Łódź Świętokrzyskie pchnąć chrząszcz".split(),
    "tr": "İstanbul ığdır şeker çiçek dağ ağaç ışık İzmir Çanakkale Şişli".split(),
    "cs": "příliš žluťoučký kůň úpěl ďábelské ódy Dvořák čtvrť".split(),
    "el": "Καλημέρα κόσμε ελληνικά Αθήνα ψυχή ὁ λόγος Ἀθῆναι ΑΒΓΔ αβγδ θάλασσα".split(),
    "ru": "Привет мир съешь ещё этих мягких французских булок да выпей чаю Москва ЁЖИК".split(),
    "uk": "Ґанок їжак є Київ Україна ґудзик".split(),
    "ar": "مرحبا بالعالم اللغة العربية كتاب كَتَبَ مُحَمَّد القاهرة ١٢٣".split(),
    "he": "שלום עולם עִבְרִית ירושלים ספר".split(),
    "hi": "नमस्ते दुनिया हिन्दी भाषा क्षत्रिय विद्यालय प्रौद्योगिकी".split(),
    "bn": "বাংলা ভাষা নমস্কার কলকাতা".split(),
    "ta": "தமிழ் வணக்கம் சென்னை".split(),
    "th": "สวัสดี ภาษาไทย ครับ กรุงเทพมหานคร ขอบคุณ".split(),
    "zh": "你好 世界 中文 汉字 我们 学习 计算机 人工智能 模型 数据 北京 上海 。 ， 《红楼梦》 「引号」".split(),
    "ja": "こんにちは 世界 日本語 カタカナ ひらがな 東京 ラーメン コーヒー 、 。 ありがとう ございます".split(),
    "ko": "안녕하세요 세계 한국어 컴퓨터 서울 감사합니다".split(),
    "ka": "ქართული გამარჯობა თბილისი".split(),
    "hy": "Բարեւ հայերեն Երևան".split(),
    "am": "ሰላም አማርኛ አዲስ አበባ".split(),
}
EMOJI = ["😀", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🇯🇵", "❤️", "1️⃣", "🏳️‍🌈", "🤖", "🧠", "🚀", "✨", "🔥", "🙈", "👩🏿‍💻"]
SYMBOLS = ["€", "£", "¥", "©", "®", "™", "°", "±", "×", "÷", "→", "⇒", "∀", "∃", "∑", "∫", "≤", "≥", "≠", "∞",
           "√", "•", "…", "—", "–", "«", "»", "„", "“", "”", "‘", "’", "§", "¶", "†", "‰", "µ", "¿", "¡", "½"]
CONTRACTIONS = ["I'm", "you're", "they've", "we'll", "he'd", "it's", "don't", "can't", "won't", "DON'T",
                "It'S", "YOU'RE", "rock'n'roll", "it’s", "don’t", "'s", "'t", "''", "'''s", "' s", "o'clock",
                "y'all'd've", "'tis", "'em", "Ma'am", "l'été", "ain't", "shouldn't've", "'LL", "'re'", "x'y"]
PUNCT = [".", ",", "!", "?", ";", ":", "...", "!?", " -", " (", ")", "\"", "'", " [", "]"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", " \n", "\r\n", "\u00a0", "\u3000", "\u2003", " \t ", "\n  ", "    "]


def prose(rng, n_bytes):
    langs = sorted(WORDS)
    out, size = [], 0
    while size < n_bytes:
        main = rng.pick(langs)
        sentence = []
        for _ in range(3 + rng.below(14)):
            lang = main if rng.chance(80) else rng.pick(langs)
            r = rng.below(100)
            if r < 70:
                w = rng.pick(WORDS[lang])
            elif r < 78:
                w = rng.pick(CONTRACTIONS)
            elif r < 84:
                w = rng.pick(EMOJI)
            elif r < 90:
                w = rng.pick(SYMBOLS)
            elif r < 95:
                w = str(rng.below(100000))
            else:
                w = rng.pick(WORDS[lang]).upper()
            sentence.append(w)
            if rng.chance(12):
                sentence[-1] += rng.pick(PUNCT)
        text = sentence[0]
        for w in sentence[1:]:
            text += (rng.pick(SPACES) if rng.chance(8) else " ") + w
        text += rng.pick([".", "!", "?", "。", "…", ""]) + rng.pick([" ", " ", "\n", "\n\n", "  "])
        out.append(text)
        size += len(text.encode("utf-8"))
    return "".join(out)


def numbers(rng, n_bytes):
    out, size = [], 0
    forms = [
        lambda: str(rng.below(10 ** (1 + rng.below(12)))),
        lambda: "-%d.%0*d" % (rng.below(1000), 1 + rng.below(6), rng.below(10 ** 6) % 10 ** 6),
        lambda: "{:,}".format(rng.below(10 ** 10)),
        lambda: "%04d-%02d-%02d" % (1900 + rng.below(200), 1 + rng.below(12), 1 + rng.below(28)),
        lambda: "%02d:%02d:%02d" % (rng.below(24), rng.below(60), rng.below(60)),
        lambda: "v%d.%d.%d" % (rng.below(20), rng.below(100), rng.below(1000)),
        lambda: "0x%X" % rng.next(),
        lambda: "%d.%de-%d" % (rng.below(10), rng.below(1000), rng.below(300)),
        lambda: "+1 (%03d) %03d-%04d" % (rng.below(1000), rng.below(1000), rng.below(10000)),
        lambda: "".join(str(rng.below(10)) for _ in range(20 + rng.below(200))),
        lambda: "".join(chr(0xFF10 + rng.below(10)) for _ in range(1 + rng.below(8))),  # fullwidth
        lambda: "".join(chr(0x0660 + rng.below(10)) for _ in range(1 + rng.below(8))),  # Arabic-Indic
        lambda: "".join(chr(0x0966 + rng.below(10)) for _ in range(1 + rng.below(8))),  # Devanagari
        lambda: rng.pick(["Ⅻ", "ⅷ", "²", "³", "½", "¾", "①", "⑳", "〇", "𝟘𝟙𝟚", "٣٫١٤", "五十"]),
        lambda: "%d%%" % rng.below(101),
        lambda: "$%d.%02d" % (rng.below(100000), rng.below(100)),
        lambda: "%d×%d=%d" % (rng.below(100), rng.below(100), rng.below(10000)),
    ]
    while size < n_bytes:
        line = rng.pick([" ", ", ", " ", "\t", "; "]).join(rng.pick(forms)() for _ in range(1 + rng.below(10)))
        line += rng.pick(["\n", "\n", " \n", "\n\n"])
        out.append(line)
        size += len(line.encode("utf-8"))
    return "".join(out)


def spaces(rng, n_bytes):
    ws = [" ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u2028", "\u2029", "\u000b", "\u000c",
          "\u1680", "\u202f", "\u205f"]
    words = WORDS["en"] + WORDS["fr"] + WORDS["zh"] + ["!", "...", "42", "'s", "😀", "x"]
    out, size = [], 0
    while size < n_bytes:
        r = rng.below(6)
        if r == 0:
            sep = " " * (1 + rng.below(40))
        elif r == 1:
            sep = "".join(rng.pick([" ", "\t"]) for _ in range(1 + rng.below(10)))
        elif r == 2:
            sep = "\n" * (1 + rng.below(6)) + " " * rng.below(8)
        elif r == 3:
            sep = " " * rng.below(5) + "\n" + "\t" * rng.below(4)
        elif r == 4:
            sep = "".join(rng.pick(ws) for _ in range(1 + rng.below(6)))
        else:
            sep = rng.pick(ws)
        piece = rng.pick(words) + sep
        out.append(piece)
        size += len(piece.encode("utf-8"))
    return "".join(out) + rng.pick(["", " ", "   ", "\n", "\n\n\n", "\t"])


def code(rng, n_bytes):
    idents = ["value", "x", "self", "count", "data", "result", "i", "tokenizer", "model", "items", "node", "_tmp"]
    strings = ["hello", "Grüße", "日本", "a,b", "\\n", "path/to/file.txt", "", "😀", "key=value", "x y"]
    templates = [
        lambda: '{"%s": %d, "%s": "%s", "list": [%d, %d, %d], "ok": %s}\n' % (
            rng.pick(idents), rng.below(1000), rng.pick(idents), rng.pick(strings), rng.below(10), rng.below(100),
            rng.below(1000), rng.pick(["true", "false", "null"])),
        lambda: "def %s(%s, %s=None):\n    return %s[%d] + %s.get('%s', %d)\n\n" % (
            rng.pick(idents), rng.pick(idents), rng.pick(idents), rng.pick(idents), rng.below(10), rng.pick(idents),
            rng.pick(strings), rng.below(100)),
        lambda: "| %s | %d | %s |\n|---|---:|:---:|\n" % (rng.pick(idents), rng.below(999), rng.pick(strings)),
        lambda: '<div class="%s" id="n%d"><a href="https://example.org/%s?q=%d&amp;p=%s">%s</a></div>\n' % (
            rng.pick(idents), rng.below(100), rng.pick(idents), rng.below(1000), rng.pick(idents),
            rng.pick(strings)),
        lambda: "for (int %s = 0; %s < %d; ++%s) { %s += %s[%s] * 0.%d; }\n" % (
            "i", "i", rng.below(100), "i", rng.pick(idents), rng.pick(idents), "i", rng.below(1000)),
        lambda: "".join(rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                        for _ in range(40 + rng.below(200))) + "==\n",
        lambda: "/usr/lib/x86_64-linux-gnu/lib%s.so.%d -> %s@%s.com\n" % (
            rng.pick(idents), rng.below(10), rng.pick(idents), rng.pick(idents)),
        lambda: "    # TODO(%s): don't forget the edge-case \"%s\" -- it's #%d!!\n" % (
            rng.pick(idents), rng.pick(strings), rng.below(10000)),
        lambda: "SELECT %s, COUNT(*) FROM t_%s WHERE %s >= %d GROUP BY 1;\n" % (
            rng.pick(idents), rng.pick(idents), rng.pick(idents), rng.below(100)),
        lambda: "$ echo '%s' | sed -e 's/a/b/g' >> /tmp/%s.log 2>&1 && exit $?\n" % (
            rng.pick(strings), rng.pick(idents)),
    ]
    out, size = [], 0
    while size < n_bytes:
        t = rng.pick(templates)()
        out.append(t)
        size += len(t.encode("utf-8"))
    return "".join(out)


def assigned_code_points():
    """Every code point this Python's Unicode assigns, except surrogates, private use and the two
    characters gpt-3-encoder classifies differently (they go to the quirks section)."""
    return [cp for cp in range(0x110000)
            if unicodedata.category(chr(cp)) not in ("Cn", "Cs", "Co") and cp not in (0x85, 0xFEFF)]


def soup(rng, n_bytes, pool):
    out, size = [], 0
    while size < n_bytes:
        word = "".join(chr(rng.pick(pool)) for _ in range(1 + rng.below(6)))
        piece = word + rng.pick([" ", " ", " ", "\n", "", "  "])
        out.append(piece)
        size += len(piece.encode("utf-8"))
    return "".join(out)


def long_pieces(rng):
    return [
        "a" * 5000,
        "ab" * 3000,
        " " + "z" * 4000 + "!",
        "9" * 3000,
        "!" * 3000 + "?" * 1000,
        "=" * 2000 + "\n" + "-" * 2000,
        "的" * 2000,
        " " * 3000 + "x",
        "\n" * 2000,
        "".join(rng.pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(6000)),
        "".join(rng.pick(["ά", "б", "ç", "ß", "ñ", "ø"]) for _ in range(3000)),
        "😀" * 1000,
    ]


QUIRKS = [
    # U+0085 NEXT LINE is whitespace for GPT-2's `regex` (\s = White_Space) but not for
    # JavaScript's \s, so after a space it splits differently: GPT-2 gives " " and
    # "\u0085" (a whitespace run before a non-space keeps its last character apart),
    # gpt-3-encoder gives " \u0085" (a space joining a run of 'other' characters).
    "a \u0085b",
    "Hello \u0085world \u0085\u0085x",
    # U+FEFF ZERO WIDTH NO-BREAK SPACE (the BOM) is \s for JavaScript, not for GPT-2:
    # GPT-2 gives " \ufeff" and "y", gpt-3-encoder gives " ", "\ufeff", "y".
    "x \ufeffy",
    "a \ufeff\ufeff b",
    # Same pieces either way (kept to show where the two agree): next to letters or at
    # the end of the text the class of these characters does not change the split.
    "first line\u0085second line",
    "\ufeffHello, world!",
]


def split_docs(text, limit=DOC_BYTES):
    """Splits at line ends into pieces of at most about `limit` bytes."""
    docs, current, size = [], [], 0
    for line in text.splitlines(keepends=True):
        n = len(line.encode("utf-8"))
        if current and size + n > limit:
            docs.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += n
    if current:
        docs.append("".join(current))
    return docs


LICENSE_DIR = "/usr/share/common-licenses"
HEADERS = ["elf.h", "stdlib.h", "stdio.h", "unistd.h", "string.h", "math.h", "fcntl.h", "signal.h", "time.h",
           "pthread.h", "wchar.h", "locale.h", "regex.h", "netdb.h", "stdint.h", "inttypes.h", "link.h",
           "malloc.h", "glob.h", "wordexp.h", "dlfcn.h", "search.h", "termios.h", "tgmath.h", "complex.h",
           "limits.h", "fenv.h", "err.h", "getopt.h", "libintl.h", "threads.h", "uchar.h", "iconv.h",
           "langinfo.h", "spawn.h", "argp.h", "obstack.h", "doctest/doctest.h"]


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def build_docs():
    """[(flags, name, text)] of the corpus, and the headers this machine lacks."""
    docs = []

    def add(section, text, flags=0):
        for i, d in enumerate(split_docs(text)):
            docs.append((flags, "%s#%d" % (section, i), d))

    seen = set()
    if os.path.isdir(LICENSE_DIR):
        for name in sorted(os.listdir(LICENSE_DIR)):
            real = os.path.realpath(os.path.join(LICENSE_DIR, name))
            if real in seen or not os.path.isfile(real):
                continue
            seen.add(real)
            add("licenses/" + name, read_text(real))
    missing = []
    for h in HEADERS:
        path = os.path.join("/usr/include", h)
        if os.path.isfile(path):
            add("headers/" + h, read_text(path))
        else:
            missing.append(h)
    rng = SplitMix64(20240611)
    add("prose", prose(rng, 300_000))
    add("numbers", numbers(rng, 60_000))
    add("spaces", spaces(rng, 60_000))
    add("code", code(rng, 80_000))
    add("soup", soup(rng, 80_000, assigned_code_points()))
    for i, text in enumerate(long_pieces(rng)):
        docs.append((0, "long#%d" % i, text))
    for i, text in enumerate(QUIRKS):
        docs.append((corpus_format.SKIP_GPT3_ENCODER, "quirks#%d" % i, text))
    return docs, missing


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    min_bytes = int(sys.argv[2]) if len(sys.argv) == 3 else 1 << 20
    docs, missing = build_docs()
    corpus_format.write_corpus(sys.argv[1], docs)
    total = sum(len(t.encode("utf-8")) for _, _, t in docs)
    sections = {}
    for _, name, text in docs:
        key = name.split("/")[0].split("#")[0]
        sections[key] = sections.get(key, 0) + len(text.encode("utf-8"))
    print("corpus: %d documents, %d bytes (Unicode %s): %s" % (
        len(docs), total, unicodedata.unidata_version,
        ", ".join("%s %d" % kv for kv in sorted(sections.items()))))
    if missing:
        print("headers not on this machine (skipped): " + " ".join(missing))
    if total < min_bytes:
        sys.exit("corpus is %d bytes, less than the required %d" % (total, min_bytes))


if __name__ == "__main__":
    main()
