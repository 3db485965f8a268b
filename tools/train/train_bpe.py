#!/usr/bin/env python3
"""Learn a GPT-2 style byte-level BPE vocabulary from text files.

Text is split on <|endoftext|> and pre-tokenized with GPT-2's pattern (bpe.py); each
pre-token is a sequence of byte symbols. Merges are then learned greedily: the most
frequent adjacent pair over all pre-tokens (weighted by how often the pre-token occurs)
becomes one symbol, until the vocabulary is full. Ties go to the pair that sorts
first, so a run is deterministic.

The vocabulary is laid out as GPT-2's: ids 0..255 the byte symbols in GPT-2's order,
then one id per merge in rank order, then <|endoftext|> as the last id. Output:
vocab.json and merges.txt in GPT-2's formats.

Usage: train_bpe.py --vocab-size 4096 --out-dir OUT train.txt [more.txt ...]
"""

import argparse
import collections
import heapq
import os
import sys
import time

from bpe import END_OF_TEXT, BYTE_TO_UNICODE, pretokenize, split_special, write_tokenizer


def count_pretokens(paths):
    counts = collections.Counter()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for piece, special in split_special(text):
            if not special:
                counts.update(pretokenize(piece))
    return counts


class PairMerger:
    """Greedy BPE over a bag of words, with incremental pair counts.

    Each merge touches only the words that contain the merged pair, found through an
    index pair -> word ids; a max-heap with lazy deletion gives the next best pair.
    """

    def __init__(self, word_counts):
        self.words = [list(w) for w in word_counts]
        self.freqs = list(word_counts.values())
        self.pair_count = collections.Counter()
        self.pair_words = collections.defaultdict(set)
        for wid, (symbols, freq) in enumerate(zip(self.words, self.freqs)):
            for pair in zip(symbols, symbols[1:]):
                self.pair_count[pair] += freq
                self.pair_words[pair].add(wid)
        self.heap = [(-c, p) for p, c in self.pair_count.items()]
        heapq.heapify(self.heap)

    def best_pair(self):
        """(pair, count) of the most frequent pair, or (None, 0) when none is left."""
        while self.heap:
            neg_count, pair = self.heap[0]
            if self.pair_count.get(pair, 0) == -neg_count:
                return pair, -neg_count
            heapq.heappop(self.heap)  # stale entry: the count changed since it was pushed
        return None, 0

    def merge(self, pair):
        left, right = pair
        joined = left + right
        changed = set()
        for wid in self.pair_words.pop(pair, ()):
            symbols, freq = self.words[wid], self.freqs[wid]
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
                    merged.append(joined)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            for old in zip(symbols, symbols[1:]):
                self.pair_count[old] -= freq
                changed.add(old)
            for new in zip(merged, merged[1:]):
                self.pair_count[new] += freq
                self.pair_words[new].add(wid)
                changed.add(new)
            self.words[wid] = merged
        for p in changed:
            count = self.pair_count[p]
            if count <= 0:
                del self.pair_count[p]
                self.pair_words.pop(p, None)
            elif p != pair:
                heapq.heappush(self.heap, (-count, p))
        self.pair_count.pop(pair, None)


def train(word_counts, vocab_size, min_frequency):
    vocab = list(BYTE_TO_UNICODE.values())
    known = set(vocab)
    merges = []
    merger = PairMerger(word_counts)
    while len(vocab) < vocab_size - 1:  # the last id is <|endoftext|>
        pair, count = merger.best_pair()
        if pair is None or count < min_frequency:
            print(f"stopping early: no pair occurs {min_frequency}+ times "
                  f"(vocabulary {len(vocab) + 1})", file=sys.stderr)
            break
        merger.merge(pair)
        merges.append(pair)
        token = pair[0] + pair[1]
        if token not in known:  # two merge paths can spell the same string
            known.add(token)
            vocab.append(token)
    vocab.append(END_OF_TEXT)
    return vocab, merges


def main():
    parser = argparse.ArgumentParser(description="Learn a GPT-2 byte-level BPE vocabulary.")
    parser.add_argument("inputs", nargs="+", help="UTF-8 text files")
    parser.add_argument("--vocab-size", type=int, default=4096,
                        help="total ids, including the 256 bytes and <|endoftext|> (default 4096)")
    parser.add_argument("--min-frequency", type=int, default=2,
                        help="stop when the best pair occurs fewer times (default 2)")
    parser.add_argument("--out-dir", required=True, help="where vocab.json and merges.txt go")
    args = parser.parse_args()
    if args.vocab_size < 257:
        parser.error(f"--vocab-size {args.vocab_size} is below 257 (256 bytes + <|endoftext|>)")
    for path in args.inputs:
        if not os.path.isfile(path):
            parser.error(f"input '{path}' is not a file")

    start = time.time()
    word_counts = count_pretokens(args.inputs)
    vocab, merges = train(word_counts, args.vocab_size, args.min_frequency)
    os.makedirs(args.out_dir, exist_ok=True)
    write_tokenizer(os.path.join(args.out_dir, "vocab.json"),
                    os.path.join(args.out_dir, "merges.txt"), vocab, merges)
    print(f"{len(word_counts)} distinct pre-tokens, {len(merges)} merges, "
          f"vocabulary {len(vocab)} -> {args.out_dir} ({time.time() - start:.1f} s)")


if __name__ == "__main__":
    main()
