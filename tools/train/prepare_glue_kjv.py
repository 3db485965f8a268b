#!/usr/bin/env python3
"""Make GLUE-like text-to-text tasks from the King James Bible, in T5's form.

Source: the same dump as prepare_kjv.py (Debian's bible-kjv-text through `bible -f`).
Four tasks, each a train and an eval TSV of (input, expected output) rows (t2t_tsv.py
describes the format):

  testament     single-sentence classification, as SST-2 is:
                "testament: <verse>" -> "old" | "new"
  newtestament  sentence-pair choice of two alternatives, as COPA is: one verse from each
                testament, in random order; which is the New Testament's?
                "newtestament sentence1: <verse> sentence2: <verse>" -> "first" | "second"
  samebook   sentence-pair classification, as MRPC is:
             "samebook sentence1: <verse> sentence2: <verse>" -> "yes" | "no"
             (whether the two verses come from the same book)
  book       single-sentence classification into 66 classes whose labels are words:
             "book: <verse>" -> "Genesis" | "Exodus" | ... | "1 Samuel" | ... | "Revelation"

Verses are split once, at random (seeded), into training and held-out verses: every
eval row of every task is made of held-out verses only, every train row of training
verses only, so the splits share no verse. Verses whose exact text occurs more than
once in the Bible are left out of every task (a row's label must not depend on which
copy was drawn, and no text may sit on both sides of the split).

  testament  train: every training verse of the New Testament (up to --max-words-single
             words) and as many Old Testament ones drawn at random: balanced.
             eval: --eval-rows held-out verses, half from each testament: balanced.
  newtestament  --newtestament-train-rows rows, --eval-rows for eval, half of each label;
             verses up to --max-words-pair words. No pair appears twice in a file.
  book       train: every training verse (up to --max-words-single words); eval:
             --eval-rows held-out verses drawn at random, so books weigh by their length.
  samebook   half "yes" rows (two different verses of one book, the first drawn
             uniformly from the verses, so long books weigh more), half "no" rows (the
             second verse from any other book); verses up to --max-words-pair words, so
             that a pair fits the model's context. No pair appears twice in a file.

testament, newtestament and samebook are balanced, so their majority-class baseline is 50%; book's is
the share of its most frequent book (Psalms); summary.json records the label counts and
the baselines.

Output, in the directory given on the command line (never the repository):
  TASK.train.tsv  TASK.eval.tsv   for TASK in testament, newtestament, samebook, book
  verses.tsv     ref, book, testament, words, split (train / eval / duplicate): the split
  summary.json   arguments, row and label counts, majority baselines
"""

import argparse
import collections
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from prepare_kjv import EXPECTED_BOOKS, EXPECTED_VERSES, VERSE_LINE, dump_bible  # noqa: E402
from t2t_tsv import write_rows  # noqa: E402

OLD_TESTAMENT_BOOKS = 39  # Genesis .. Malachi; Matthew opens the New Testament
FIRST_NT_BOOK = "Mat"
TASKS = ("testament", "newtestament", "samebook", "book")
# The book task's labels, by canonical position (the bible program prints abbreviations).
BOOK_NAMES = (
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth", "1 Samuel",
    "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra", "Nehemiah", "Esther", "Job",
    "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah", "Jeremiah", "Lamentations", "Ezekiel",
    "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai",
    "Zechariah", "Malachi", "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "1 Corinthians",
    "2 Corinthians", "Galatians", "Ephesians", "Philippians", "Colossians", "1 Thessalonians",
    "2 Thessalonians", "1 Timothy", "2 Timothy", "Titus", "Philemon", "Hebrews", "James", "1 Peter", "2 Peter",
    "1 John", "2 John", "3 John", "Jude", "Revelation")


class Verse:
    __slots__ = ("book", "name", "ref", "text", "testament", "words")

    def __init__(self, book, name, ref, text, testament):
        self.book, self.name, self.ref, self.text, self.testament = book, name, ref, text, testament
        self.words = len(text.split())


def parse_verses(lines):
    """[Verse] in canonical order from `bible -f` lines; refuses unparsable lines and a
    text that is not the 66 books / 31,102 verses expected."""
    verses, books = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        match = VERSE_LINE.match(line)
        if match is None:
            sys.exit(f"error: line {number} of the bible dump is not a verse: {line[:80]!r}")
        book, text = match.group(1), " ".join(match.group(4).split())
        if not books or books[-1] != book:
            books.append(book)
        verses.append((book, f"{book}{match.group(2)}:{match.group(3)}", text))
    if len(books) != EXPECTED_BOOKS or len(verses) != EXPECTED_VERSES:
        sys.exit(f"error: expected {EXPECTED_BOOKS} books and {EXPECTED_VERSES} verses, "
                 f"got {len(books)} books and {len(verses)} verses")
    if books[OLD_TESTAMENT_BOOKS] != FIRST_NT_BOOK:
        sys.exit(f"error: book {OLD_TESTAMENT_BOOKS + 1} is '{books[OLD_TESTAMENT_BOOKS]}', "
                 f"expected '{FIRST_NT_BOOK}' (Matthew)")
    index = {b: i for i, b in enumerate(books)}
    return [Verse(b, BOOK_NAMES[index[b]], r, t, "new" if index[b] >= OLD_TESTAMENT_BOOKS else "old")
            for b, r, t in verses]


def split_verses(verses, eval_fraction, rng):
    """(train, eval, duplicates): verses with a text seen elsewhere go to duplicates; the
    others to eval with probability eval_fraction."""
    counts = collections.Counter(v.text for v in verses)
    train, held, dups = [], [], []
    for v in verses:
        if counts[v.text] > 1:
            dups.append(v)
        elif rng.random() < eval_fraction:
            held.append(v)
        else:
            train.append(v)
    return train, held, dups


def testament_rows(verses, n_rows, rng, max_words):
    """Balanced rows: n_rows // 2 per testament, or, with n_rows None, every New
    Testament verse and as many Old Testament ones."""
    pool = {t: [v for v in verses if v.testament == t and v.words <= max_words] for t in ("old", "new")}
    per_class = n_rows // 2 if n_rows is not None else len(pool["new"])
    for t, vs in pool.items():
        if len(vs) < per_class:
            sys.exit(f"error: testament: {len(vs)} '{t}' verses of at most {max_words} words, "
                     f"{per_class} needed")
    rows = [(f"testament: {v.text}", t) for t in ("old", "new") for v in rng.sample(pool[t], per_class)]
    rng.shuffle(rows)
    return rows


def newtestament_rows(verses, n_rows, rng, max_words):
    """n_rows // 2 rows with the New Testament verse first ("first"), as many with it
    second ("second"); the other verse is from the Old Testament; no pair twice."""
    pool = {t: [v for v in verses if v.testament == t and v.words <= max_words] for t in ("old", "new")}
    per_class = n_rows // 2
    if per_class > len(pool["old"]) * len(pool["new"]) // 4:  # drawing most of the pairs would crawl
        sys.exit(f"error: newtestament: {n_rows} rows asked of {len(pool['old'])} + {len(pool['new'])} verses "
                 f"of at most {max_words} words")
    seen, rows = set(), []
    for label in ("first", "second"):
        made = 0
        while made < per_class:
            old, new = rng.choice(pool["old"]), rng.choice(pool["new"])
            if (old.ref, new.ref) in seen:
                continue
            seen.add((old.ref, new.ref))
            first, second = (new, old) if label == "first" else (old, new)
            rows.append((f"newtestament sentence1: {first.text} sentence2: {second.text}", label))
            made += 1
    rng.shuffle(rows)
    return rows


def book_rows(verses, n_rows, rng, max_words):
    """n_rows verses drawn at random (every verse with n_rows None), each labelled with
    its book's name."""
    pool = [v for v in verses if v.words <= max_words]
    if n_rows is not None and len(pool) < n_rows:
        sys.exit(f"error: book: {len(pool)} verses of at most {max_words} words, {n_rows} needed")
    chosen = rng.sample(pool, n_rows if n_rows is not None else len(pool))
    return [(f"book: {v.text}", v.name) for v in chosen]


def samebook_rows(verses, n_rows, rng, max_words):
    """n_rows // 2 "yes" and as many "no" rows, no (first, second) pair twice."""
    pool = [v for v in verses if v.words <= max_words]
    by_book = collections.defaultdict(list)
    for v in pool:
        by_book[v.book].append(v)
    with_pair = [v for v in pool if len(by_book[v.book]) >= 2]
    if len(by_book) < 2 or not with_pair:
        sys.exit("error: samebook: too few verses to make pairs")
    per_class = n_rows // 2
    yes_pairs = sum(len(vs) * (len(vs) - 1) for vs in by_book.values())
    no_pairs = len(pool) ** 2 - sum(len(vs) ** 2 for vs in by_book.values())
    if per_class > min(yes_pairs, no_pairs) // 2:  # drawing most of the pairs would crawl
        sys.exit(f"error: samebook: {n_rows} rows asked of {len(pool)} verses of at most {max_words} words "
                 f"({yes_pairs} same-book and {no_pairs} other-book pairs)")
    seen, rows = set(), []
    for label in ("yes", "no"):
        made = 0
        while made < per_class:
            if label == "yes":
                first = rng.choice(with_pair)
                second = rng.choice(by_book[first.book])
                if second is first:
                    continue
            else:
                first, second = rng.choice(pool), rng.choice(pool)
                if second.book == first.book:
                    continue
            if (first.ref, second.ref) in seen:
                continue
            seen.add((first.ref, second.ref))
            rows.append((f"samebook sentence1: {first.text} sentence2: {second.text}", label))
            made += 1
    rng.shuffle(rows)
    return rows


def label_counts(rows):
    return dict(sorted(collections.Counter(t for _, t in rows).items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="output directory (created if missing)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--eval-fraction", type=float, default=0.1,
                        help="share of the verses held out for evaluation (default 0.1)")
    parser.add_argument("--eval-rows", type=int, default=1000, help="rows of each eval set (default 1000)")
    parser.add_argument("--newtestament-train-rows", type=int, default=20000,
                        help="rows of newtestament.train.tsv (default 20000)")
    parser.add_argument("--samebook-train-rows", type=int, default=40000,
                        help="rows of samebook.train.tsv (default 40000)")
    parser.add_argument("--max-words-single", type=int, default=48,
                        help="longest verse, in words, of a testament or book row (default 48)")
    parser.add_argument("--max-words-pair", type=int, default=36,
                        help="longest verse, in words, of a newtestament or samebook row (default 36)")
    parser.add_argument("--bible", default="bible", help="path of the bible program")
    args = parser.parse_args(argv)
    if not 0 < args.eval_fraction < 1:
        sys.exit("error: --eval-fraction must lie in (0, 1)")
    for name in ("eval_rows", "newtestament_train_rows", "samebook_train_rows"):
        if getattr(args, name) < 2 or getattr(args, name) % 2:
            sys.exit(f"error: --{name.replace('_', '-')} must be an even number >= 2")

    verses = parse_verses(dump_bible(args.bible))
    rng = random.Random(args.seed)
    train, held, dups = split_verses(verses, args.eval_fraction, rng)
    tasks = {
        "testament": (testament_rows(train, None, rng, args.max_words_single),
                      testament_rows(held, args.eval_rows, rng, args.max_words_single)),
        "samebook": (samebook_rows(train, args.samebook_train_rows, rng, args.max_words_pair),
                     samebook_rows(held, args.eval_rows, rng, args.max_words_pair)),
        "book": (book_rows(train, None, rng, args.max_words_single),
                 book_rows(held, args.eval_rows, rng, args.max_words_single)),
        "newtestament": (newtestament_rows(train, args.newtestament_train_rows, rng, args.max_words_pair),
                         newtestament_rows(held, args.eval_rows, rng, args.max_words_pair)),
    }

    os.makedirs(args.out_dir, exist_ok=True)
    summary = {"args": vars(args), "verses": len(verses), "train_verses": len(train),
               "eval_verses": len(held), "duplicate_text_verses_left_out": len(dups), "tasks": {}}
    for task, (train_rows, eval_rows) in tasks.items():
        info = {}
        for split, rows in (("train", train_rows), ("eval", eval_rows)):
            write_rows(os.path.join(args.out_dir, f"{task}.{split}.tsv"), rows)
            counts = label_counts(rows)
            info[split] = {"rows": len(rows), "labels": counts, "classes": len(counts),
                           "majority_baseline": max(counts.values()) / len(rows),
                           "mean_input_words": round(sum(len(i.split()) for i, _ in rows) / len(rows), 1)}
        summary["tasks"][task] = info
    split_of = {id(v): s for s, vs in (("train", train), ("eval", held), ("duplicate", dups)) for v in vs}
    write_rows(os.path.join(args.out_dir, "verses.tsv"),
               [(v.ref, v.book, v.testament, str(v.words), split_of[id(v)]) for v in verses])
    with open(os.path.join(args.out_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(f"{len(verses)} verses: {len(train)} train, {len(held)} eval, {len(dups)} left out (repeated text) "
          f"-> {args.out_dir}")
    for task, info in summary["tasks"].items():
        print(f"  {task}: " + "; ".join(
            f"{s} {i['rows']} rows, {i['classes']} labels (majority {i['majority_baseline']:.1%}, "
            f"{i['mean_input_words']} words per input)" for s, i in info.items()))


if __name__ == "__main__":
    main()
