#!/usr/bin/env python3
"""Row by row: does `hmoe eval --predictions` give what the PyTorch reference gave?

    compare_predictions.py REFERENCE.pred.tsv HMOE.pred.tsv [--allow-differing N] [--json]

REFERENCE is a file of eval_switch.py (input, expected, predicted, correct, ids, margin);
HMOE one of `hmoe eval --predictions` (input, expected, predicted, correct). Rows are
matched by position and must carry the same input and expected text (the same data file,
in the same order). Prints the rows compared, how many predictions are identical, and
each differing row with the reference's margin (the smallest top-1 minus top-2 logit gap
over its generated steps): a quantized file may flip a row whose margin is small, an
exact runtime flips none. Exit status 0 when at most N rows differ (default 0), 1
otherwise, 2 when the files do not describe the same rows.
"""

import argparse
import json
import sys


def read_rows(path, min_fields):
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < min_fields:
                raise SystemExit(f"{path}:{number}: {len(fields)} fields, needs at least {min_fields}")
            rows.append(fields)
    return rows


def compare(reference, runtime):
    """Returns (identical, differing) where differing lists (row index, reference row,
    runtime row); raises ValueError when the files describe different rows."""
    if len(reference) != len(runtime):
        raise ValueError(f"{len(reference)} reference rows, {len(runtime)} runtime rows")
    differing = []
    for i, (r, g) in enumerate(zip(reference, runtime)):
        if (r[0], r[1]) != (g[0], g[1]):
            raise ValueError(f"row {i + 1}: input or expected output differ: {r[:2]} vs {g[:2]}")
        if r[2] != g[2]:
            differing.append((i, r, g))
    return len(reference) - len(differing), differing


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reference")
    p.add_argument("runtime")
    p.add_argument("--allow-differing", type=int, default=0, help="rows allowed to differ (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args()
    try:
        identical, differing = compare(read_rows(a.reference, 6), read_rows(a.runtime, 4))
    except ValueError as e:
        print(f"compare_predictions.py: {e}", file=sys.stderr)
        return 2
    report = {
        "reference": a.reference, "runtime": a.runtime, "rows": identical + len(differing),
        "identical": identical,
        "differing": [{"row": i + 1, "expected": r[1], "reference": r[2], "runtime": g[2],
                       "reference_margin": float(r[5])} for i, r, g in differing],
    }
    if a.json:
        print(json.dumps(report))
    else:
        print(f"{a.runtime}: {report['rows']} rows, {identical} predictions identical to the reference's")
        for d in report["differing"]:
            print(f"  row {d['row']}: reference {d['reference']!r}, runtime {d['runtime']!r}, "
                  f"expected {d['expected']!r}, reference margin {d['reference_margin']:.4g}")
    return 0 if len(differing) <= a.allow_differing else 1


if __name__ == "__main__":
    sys.exit(main())
