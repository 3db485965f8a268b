#!/usr/bin/env python3
"""Exact-match accuracy of a Switch (HyperMoE) checkpoint on text-to-text TSVs, by greedy
generation with the reference model, one row at a time, as the runtime runs it.

    eval_switch.py CHECKPOINT_DIR --data-dir DATA_DIR [--tasks testament,newtestament]
                   [--split eval] [--max-new-tokens 16] [--predictions-dir DIR]

Per row (t2t_tsv.py describes the files): the input field is encoded with the
checkpoint's spiece.model, `</s>` appended; the encoder runs once on it; the decoder
starts from decoder_start_token_id and generates the argmax token (the lowest id on a
tie) one step at a time through its cache, until `</s>` or --max-new-tokens tokens
(eos counted); the generated ids without `</s>` and `<pad>` are decoded to text, and the
text stripped of surrounding white space is the prediction. A row is right when the
prediction equals the expected field exactly.

With --predictions-dir, writes TASK.SPLIT.pred.tsv per task: input, expected,
predicted, correct (1/0), generated ids (comma-separated, eos included when generated),
margin (the smallest gap between the largest and the second largest logit over the
generated steps: a row whose margin is near rounding size may flip in another runtime or
dtype); the predicted field is empty when nothing but eos was generated. These are the
rows the C++ runtime's evaluation must reproduce.

Prints one JSON object: per task, rows, accuracy, the majority-class baseline (the
share of the most frequent expected output) and the predicted outputs' counts.
"""

import argparse
import collections
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

from hmoe_ref.checkpoint import load_switch_model  # noqa: E402
from hmoe_ref.switch_model import generate_greedy  # noqa: E402

import train_spm  # noqa: E402
from t2t_tsv import check_field, read_rows  # noqa: E402


@torch.no_grad()
def predict(model, sp, text, max_new_tokens):
    """(prediction text, generated ids, smallest top-1 - top-2 logit gap) of one input."""
    cfg = model.config
    enc_ids = train_spm.encode_t5(sp, text)
    ids = generate_greedy(model, enc_ids, max_new_tokens)
    # The margins, from one decoder call over the generated prefix (expert capacity
    # exceeds any input, so one call and the cached steps give the same logits).
    logits = model(torch.tensor([enc_ids]), torch.tensor([[cfg.decoder_start_token_id] + ids[:-1]]))[0]
    top2 = logits.topk(2, dim=-1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    text_ids = [i for i in ids if i not in (cfg.eos_token_id, cfg.pad_token_id)]
    return sp.decode(text_ids).strip(), ids, margin


def evaluate_file(model, sp, path, max_new_tokens, pred_path=None):
    rows = read_rows(path)
    right, predicted, margins = 0, collections.Counter(), []
    out = open(pred_path, "w", encoding="utf-8", newline="\n") if pred_path else None
    try:
        for n, (text, expected) in enumerate(rows, 1):
            pred, ids, margin = predict(model, sp, text, max_new_tokens)
            margins.append(margin)
            ok = pred == expected
            right += ok
            predicted[pred] += 1
            if out:
                if pred:
                    check_field(pred, f"{path} row {n}: prediction")
                out.write("\t".join([text, expected, pred, "1" if ok else "0", ",".join(map(str, ids)),
                                     f"{margin:.6g}"]) + "\n")
    finally:
        if out:
            out.close()
    expected = collections.Counter(e for _, e in rows)
    return {"rows": len(rows), "accuracy": right / len(rows),
            "majority_baseline": max(expected.values()) / len(rows),
            "expected": dict(sorted(expected.items())), "predicted": dict(predicted.most_common(8)),
            "smallest_margin": min(margins), "rows_with_margin_below_1e-3": sum(m < 1e-3 for m in margins)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="folder with config.json, pytorch_model.bin, spiece.model")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--tasks", default="testament,newtestament")
    ap.add_argument("--split", default="eval")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--predictions-dir", help="write TASK.SPLIT.pred.tsv files here")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.max_new_tokens < 1:
        sys.exit("error: --max-new-tokens must be >= 1")
    torch.set_num_threads(args.threads)
    model = load_switch_model(args.checkpoint, per_pattern=True)
    sp = train_spm.load(args.checkpoint)
    if sp.get_piece_size() != model.config.vocab_size:
        sys.exit(f"error: spiece.model has {sp.get_piece_size()} pieces, the model {model.config.vocab_size}")
    if args.predictions_dir:
        os.makedirs(args.predictions_dir, exist_ok=True)
    start = time.time()
    result = {"checkpoint": args.checkpoint, "split": args.split, "max_new_tokens": args.max_new_tokens,
              "hyper": model.config.hyper, "tasks": {}}
    for task in [t for t in args.tasks.split(",") if t]:
        pred_path = (os.path.join(args.predictions_dir, f"{task}.{args.split}.pred.tsv")
                     if args.predictions_dir else None)
        result["tasks"][task] = evaluate_file(model, sp, os.path.join(args.data_dir, f"{task}.{args.split}.tsv"),
                                              args.max_new_tokens, pred_path)
    result["seconds"] = round(time.time() - start, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
