#!/usr/bin/env python3
"""Does the C++ runtime generate what the reference generated? Row by row, against the
prediction files of eval_switch.py, through `hmoe logits --greedy` (token ids in and
out, so it needs no tokenizer in the runtime).

    runtime_agreement.py --hmoe build/tools/hmoe -m MODEL.hmoe --spiece CHECKPOINT/spiece.model \\
        PRED.tsv [PRED.tsv ...] [--rows 200] [--max-new-tokens 16]

Per row: the input field encoded with spiece.model and `</s>` (as eval_switch.py does),
`hmoe logits -m MODEL --encoder-ids IDS --ids START --greedy N -t 1`, its ids cut after
the first `</s>`, compared with the row's generated ids. Prints one JSON object: per
file, rows compared, rows equal, and each differing row with the reference's margin
(a near tie explains a flip; a wide margin means a runtime or quantization error). Exit
status 0 when every row agrees, 1 otherwise.

A runtime built without SentencePiece refuses a file carrying spiece.model; convert a
copy of the checkpoint folder without it (config.json and pytorch_model.bin only): the
file then takes token ids only, which is all this check gives it.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import train_spm  # noqa: E402


def runtime_greedy(hmoe, model, enc_ids, start_id, n):
    cmd = [hmoe, "logits", "-m", model, "--encoder-ids", ",".join(map(str, enc_ids)), "--ids", str(start_id),
           "--greedy", str(n), "-t", "1"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(cmd[:4])} ... exited {result.returncode}: {result.stderr.strip()}")
    ids = [int(x) for x in result.stdout.strip().splitlines()[-1].split(",")]
    if train_spm.EOS_ID in ids:
        ids = ids[:ids.index(train_spm.EOS_ID) + 1]
    return ids


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("predictions", nargs="+", help="eval_switch.py's TASK.SPLIT.pred.tsv files")
    ap.add_argument("--hmoe", required=True, help="the hmoe binary")
    ap.add_argument("-m", "--model", required=True, help="the .hmoe file")
    ap.add_argument("--spiece", required=True, help="the checkpoint's spiece.model")
    ap.add_argument("--rows", type=int, default=0, help="first N rows of each file (0: all)")
    ap.add_argument("--max-new-tokens", type=int, default=16, help="as given to eval_switch.py")
    ap.add_argument("--decoder-start", type=int, default=train_spm.PAD_ID)
    args = ap.parse_args(argv)
    sp = train_spm.load(args.spiece)
    report, all_equal = {"model": args.model, "files": {}}, True
    for path in args.predictions:
        with open(path, encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f]
        if args.rows:
            rows = rows[:args.rows]
        differ = []
        for n, fields in enumerate(rows, 1):
            want = [int(x) for x in fields[4].split(",")]
            got = runtime_greedy(args.hmoe, args.model, train_spm.encode_t5(sp, fields[0]), args.decoder_start,
                                 args.max_new_tokens)
            if got != want:
                differ.append({"row": n, "reference": want, "runtime": got, "reference_margin": float(fields[5])})
        all_equal &= not differ
        report["files"][os.path.basename(path)] = {"rows": len(rows), "equal": len(rows) - len(differ),
                                                  "differ": differ}
    print(json.dumps(report))
    return 0 if all_equal else 1


if __name__ == "__main__":
    sys.exit(main())
