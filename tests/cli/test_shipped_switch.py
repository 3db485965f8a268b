#!/usr/bin/env python3
"""The Switch HyperMoE model that ships (models/kjv-switch-hypermoe-q8.hmoe) answers
through `hmoe run` and scores through `hmoe eval` as its model card says.

    test_shipped_switch.py HMOE_BIN MODEL REFERENCE_DIR

REFERENCE_DIR holds the PyTorch reference's predictions on the model's held-out sets
(eval_switch.py's TASK.eval.pred.tsv.gz from the f32 checkpoint: input, expected,
predicted, correct, ids, margin). The q8 file must give the reference's prediction on
every row but near ties: a differing row must have a reference margin (top-1 minus top-2
logit) under MAX_FLIP_MARGIN, and there may be at most MAX_FLIPS of them in all; the
accuracy `hmoe eval` prints must be the share of its own correct rows.
"""
import gzip
import json
import os
import sys
import tempfile

import cli_checks
from cli_checks import check, hmoe, usage_error

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from hmoe_ref.hmoe_file import read_hmoe  # noqa: E402

HMOE, MODEL, REFERENCE_DIR = sys.argv[1:4]
cli_checks.HMOE = HMOE
TASKS = ("testament", "newtestament")
MAX_FLIPS = 4          # of 2,000 rows: 0.2%
MAX_FLIP_MARGIN = 0.5  # logits; q8's error on this model's logits is about 0.05


def main():
    check_run()
    with tempfile.TemporaryDirectory(prefix="hmoe_shipped_switch_") as work:
        check_tokenizer(work)
        flips = sum(check_eval(work, task) for task in TASKS)
    check(f"at most {MAX_FLIPS} rows differ from the reference in all", flips <= MAX_FLIPS, str(flips))
    return cli_checks.summary()


def check_run():
    rc, out, err = hmoe("run", "-m", MODEL, "-p", "testament: And Jesus wept.")
    check("run: the README's example answers 'new'", rc == 0 and out == "new\n", f"{rc} {out!r} {err}")
    check("run: speed on stderr", "generation:" in err, err)
    rc, same, err = hmoe("run", "-m", MODEL, "-f", "-", stdin=b"testament: And Jesus wept.")
    check("run -f -: the encoder's input from standard input", rc == 0 and same == "new\n", f"{same!r} {err}")
    rc, out, err = hmoe("tokenize", "-m", MODEL, "-p", "testament: In the beginning God created the heaven.")
    enc = out.strip()
    check("tokenize: T5's </s> (1) ends the encoder's input", rc == 0 and enc.endswith(",1"), out + err)
    rc, out, err = hmoe("logits", "-m", MODEL, "--encoder-ids", enc, "--ids", "0", "--greedy", "4")
    greedy = [int(x) for x in out.strip().split(",")] if rc == 0 else []
    answer = greedy[:greedy.index(1)] if 1 in greedy else greedy
    rc, out, err = hmoe("run", "-m", MODEL, "--ids", enc, "-n", "4")
    check("run --ids: the greedy ids of logits --greedy, up to </s>", rc == 0 and answer and
          out.strip() == ",".join(map(str, answer)), f"{out!r} vs {greedy} {err}")
    usage_error("run -i on an encoder-decoder (R15)", ["run", "-m", MODEL, "-i", "-p", "x"], "encoder-decoder")
    usage_error("run --context-shift on an encoder-decoder (R15)", ["run", "-m", MODEL, "--context-shift", "-p", "x"],
                "encoder-decoder")


def check_tokenizer(work):
    """The file's SentencePiece model gives Python's sentencepiece ids on the held-out
    inputs (all of them as one text, T5's </s> after it)."""
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_proto=read_hmoe(MODEL).tokenizer.sp_model)
    text = "\n".join(r[0] for task in TASKS
                     for r in read_tsv(os.path.join(REFERENCE_DIR, f"{task}.eval.pred.tsv.gz"), gzip.open))
    path = os.path.join(work, "inputs.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    rc, out, err = hmoe("tokenize", "-m", MODEL, "-f", path)
    ids = [int(x) for x in out.strip().split(",")] if rc == 0 else []
    expected = sp.encode(text) + [1]
    check(f"tokenize: Python's sentencepiece ids on the held-out inputs ({len(text.encode())} bytes, "
          f"{len(expected)} ids)", ids == expected, f"{rc} {err} {len(ids)} vs {len(expected)}")


def read_tsv(path, opener=open):
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return [line.rstrip("\r\n").split("\t") for line in f]


def check_eval(work, task):
    """Scores one held-out set; returns how many rows differ from the reference."""
    reference = read_tsv(os.path.join(REFERENCE_DIR, f"{task}.eval.pred.tsv.gz"), gzip.open)
    data = os.path.join(work, f"{task}.tsv")
    with open(data, "w", encoding="utf-8", newline="") as f:
        f.writelines(f"{r[0]}\t{r[1]}\n" for r in reference)
    pred = os.path.join(work, f"{task}.pred.tsv")
    rc, out, err = hmoe("eval", "-m", MODEL, "--data", data, "--max-tokens", "16", "--predictions", pred,
                        "-o", "json", timeout=600)
    check(f"eval {task} exits 0", rc == 0, err[-500:])
    if rc != 0:
        return len(reference)
    result = json.loads(out)
    got = read_tsv(pred)
    check(f"eval {task}: a prediction per row", len(got) == len(reference) == result["rows"],
          f"{len(got)} {len(reference)} {result['rows']}")
    right = sum(g[3] == "1" for g in got)
    check(f"eval {task}: accuracy is the share of correct rows",
          result["correct"] == right and abs(result["accuracy"] - right / len(got)) < 1e-6, out)
    flips = [(i + 1, r[2], g[2], float(r[5])) for i, (r, g) in enumerate(zip(reference, got)) if r[2] != g[2]]
    wide = [f for f in flips if f[3] >= MAX_FLIP_MARGIN]
    check(f"eval {task}: q8 flips only near ties of the reference", not wide, str(wide))
    print(f"{task}: {len(got)} rows, accuracy {result['accuracy']:.4f}, {len(flips)} differ from the reference "
          f"(row, reference, q8, margin): {flips}")
    return len(flips)


if __name__ == "__main__":
    sys.exit(main())
