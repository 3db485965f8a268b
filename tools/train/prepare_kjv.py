#!/usr/bin/env python3
"""Dump the King James Bible to plain text and split it into train and eval files.

Source: Debian's `bible-kjv-text` (the compressed /usr/lib/bible.data), read through
the `bible` program of Debian's `bible-kjv`, which prints any verse range. With -f
(pretty-printing off) it prints one verse per line as "<Book><chapter>:<verse> <text>",
e.g. "1Sm3:4 That the LORD called Samuel: ...". We dump the whole range once and
group verses by their book prefix, so book boundaries come from the data itself.

Output, in the directory given on the command line (never the repository):
  train.txt   every book except the held-out one, one verse per line; books are
              separated by a line holding exactly <|endoftext|>.
  eval.txt    the held-out book alone, one verse per line, no special tokens.
  books.tsv   book, verses, words, split: a record of what went where.

The held-out book defaults to Romans (433 verses, 9,422 words, about 1.2% of the text):
mid-sized, whole (not a sample of verses, which would leak near-duplicate context
from the same chapter into training), and prose rather than a list of names.
"""

import argparse
import os
import re
import subprocess
import sys

FULL_RANGE = "Gen1:1-Rev22:21"
VERSE_LINE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")
DOC_SEPARATOR = "<|endoftext|>"
EXPECTED_BOOKS = 66
EXPECTED_VERSES = 31102


def dump_bible(bible_program):
    """Return the `bible -f` dump of the whole text as a list of lines."""
    try:
        result = subprocess.run(
            [bible_program, "-f", FULL_RANGE],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        sys.exit(f"error: '{bible_program}' not found; install Debian's bible-kjv "
                 "(apt-get install bible-kjv bible-kjv-text)")
    if result.returncode != 0:
        sys.exit(f"error: '{bible_program} -f {FULL_RANGE}' exited with "
                 f"{result.returncode}: {result.stderr.strip()}")
    return result.stdout.splitlines()


def group_by_book(lines):
    """[(book, [verse text, ...]), ...] in canonical order; refuses unparsable lines."""
    books = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        match = VERSE_LINE.match(line)
        if match is None:
            sys.exit(f"error: line {number} of the bible dump is not a verse: {line[:80]!r}")
        book, text = match.group(1), match.group(4).strip()
        if not books or books[-1][0] != book:
            books.append((book, []))
        books[-1][1].append(text)
    return books


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="output directory (created if missing)")
    parser.add_argument("--eval-book", default="Rom",
                        help="held-out book, as the bible program abbreviates it "
                             "(Ge, Exo, ..., Rom, ..., Rev); default Rom (Romans)")
    parser.add_argument("--bible", default="bible", help="path of the bible program")
    args = parser.parse_args()

    books = group_by_book(dump_bible(args.bible))
    names = [name for name, _ in books]
    verses = sum(len(v) for _, v in books)
    if len(books) != EXPECTED_BOOKS or verses != EXPECTED_VERSES:
        sys.exit(f"error: expected {EXPECTED_BOOKS} books and {EXPECTED_VERSES} verses, "
                 f"got {len(books)} books and {verses} verses")
    if args.eval_book not in names:
        sys.exit(f"error: --eval-book '{args.eval_book}' is not a book; "
                 f"books are: {' '.join(names)}")

    os.makedirs(args.out_dir, exist_ok=True)
    train_docs = ["\n".join(v) + "\n" for n, v in books if n != args.eval_book]
    eval_doc = "\n".join(dict(books)[args.eval_book]) + "\n"
    with open(os.path.join(args.out_dir, "train.txt"), "w", encoding="utf-8") as f:
        f.write((DOC_SEPARATOR + "\n").join(train_docs))
    with open(os.path.join(args.out_dir, "eval.txt"), "w", encoding="utf-8") as f:
        f.write(eval_doc)
    with open(os.path.join(args.out_dir, "books.tsv"), "w", encoding="utf-8") as f:
        f.write("book\tverses\twords\tsplit\n")
        for name, text in books:
            words = sum(len(t.split()) for t in text)
            split = "eval" if name == args.eval_book else "train"
            f.write(f"{name}\t{len(text)}\t{words}\t{split}\n")

    eval_words = len(eval_doc.split())
    print(f"{len(books)} books, {verses} verses; held out {args.eval_book} "
          f"({len(dict(books)[args.eval_book])} verses, {eval_words} words) -> {args.out_dir}")


if __name__ == "__main__":
    main()
