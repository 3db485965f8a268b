#!/usr/bin/env python3
"""Held-out perplexity of a checkpoint, per token of a text file, with the reference model.

The text is encoded with the checkpoint's own vocab.json + merges.txt and preceded by
<|endoftext|>, so every token of the text is predicted (the first from that token
alone). Texts longer than the context are scored with a sliding window: each window
holds n_positions tokens and scores only the tokens no earlier window scored, so every
token after the first window sees at least n_positions - stride tokens of context.
stride = n_positions scores disjoint windows (less context, higher perplexity).

Usage: eval_ppl.py CHECKPOINT_DIR TEXT_FILE [--stride S] [--threads 1]
Prints one JSON line: tokens, mean_nll (nats), ppl, bits_per_byte.
"""

import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hmoe_ref.config import HyperMoEConfig  # noqa: E402
from hmoe_ref.model import GPT2HyperMoE  # noqa: E402

from bpe import Tokenizer  # noqa: E402


@torch.no_grad()
def held_out_nll(model, ids, bos_id, stride):
    """(summed negative log-likelihood in nats, number of tokens scored) of ids."""
    window = model.config.n_positions
    if not 1 <= stride <= window:
        raise ValueError(f"stride {stride} must lie in [1, n_positions = {window}]")
    seq = torch.tensor([bos_id] + list(ids), dtype=torch.long)
    total, scored, next_target = 0.0, 0, 1
    begin = 0
    while next_target < len(seq):
        end = min(begin + window + 1, len(seq))  # inputs seq[begin:end-1], targets seq[begin+1:end]
        logits, _ = model(seq[begin:end - 1][None])
        logp = torch.log_softmax(logits[0].double(), dim=-1)
        targets = seq[begin + 1:end]
        first = next_target - (begin + 1)  # skip targets an earlier window scored
        nll = -logp[torch.arange(first, len(targets)), targets[first:]]
        total += float(nll.sum())
        scored += nll.numel()
        next_target = end
        begin += stride
    return total, scored


def load_checkpoint(path):
    cfg = HyperMoEConfig.load(path)
    model = GPT2HyperMoE(cfg, per_pattern=True)
    weights = os.path.join(path, "pytorch_model.bin")
    if not os.path.isfile(weights):
        sys.exit(f"error: no pytorch_model.bin in '{path}'")
    model.load_state_dict(torch.load(weights, map_location="cpu"))
    model.eval()
    tokenizer = Tokenizer(os.path.join(path, "vocab.json"), os.path.join(path, "merges.txt"))
    return model, tokenizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="folder with config.json, pytorch_model.bin, vocab.json, merges.txt")
    parser.add_argument("text", help="UTF-8 text to score (e.g. eval.txt of prepare_kjv.py)")
    parser.add_argument("--stride", type=int, default=None, help="default n_positions / 2")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, tokenizer = load_checkpoint(args.checkpoint)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    ids = tokenizer.encode(text)
    stride = args.stride or model.config.n_positions // 2
    start = time.time()
    nll, n = held_out_nll(model, ids, tokenizer.eot_id, stride)
    print(json.dumps({"checkpoint": os.path.basename(os.path.normpath(args.checkpoint)),
                      "text": os.path.basename(args.text), "tokens": n, "stride": stride,
                      "mean_nll": round(nll / n, 5), "ppl": round(math.exp(nll / n), 3),
                      "bits_per_byte": round(nll / math.log(2) / len(text.encode("utf-8")), 4),
                      "seconds": round(time.time() - start, 1)}))


if __name__ == "__main__":
    main()
