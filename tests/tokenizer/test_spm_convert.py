#!/usr/bin/python3
"""A Switch checkpoint with a spiece.model, through tools/convert.py, carries a tokenizer
the runtime loads: kind SENTENCEPIECE, the model's bytes, eos 1 and pad 0 from
config.json, and T5's 100 sentinels after the pieces when they fit vocab_size (else
none). Uses tests/fuzz/data/spm_rules.model (250 pieces).

    test_spm_convert.py HMOE_BIN WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PY = sys.executable
SPIECE = os.path.join(ROOT, "tests", "fuzz", "data", "spm_rules.model")
failures = []


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAILED ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(name)


def main():
    hmoe, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    tok_dir = os.path.join(work, "tok")
    os.makedirs(tok_dir)
    shutil.copy(SPIECE, os.path.join(tok_dir, "spiece.model"))
    for vocab, sentinels in ((384, 100), (320, 0)):
        ckpt, out = os.path.join(work, f"sw{vocab}"), os.path.join(work, f"sw{vocab}.hmoe")
        run([PY, os.path.join(ROOT, "tools", "make_checkpoint.py"), "--arch", "switch", "--preset", "sw-plain",
             "--vocab-size", str(vocab), "--seed", "1", "-o", ckpt, "--tokenizer-from", tok_dir])
        run([PY, os.path.join(ROOT, "tools", "convert.py"), ckpt, "-o", out, "-q"])
        t = json.loads(run([hmoe, "inspect", out, "--json"]))["tokenizer"]
        check(f"vocab {vocab}: the file's tokenizer",
              t["kind"] == "SENTENCEPIECE" and t["vocab_size"] == 250 + sentinels and t["eos_id"] == 1 and
              t["pad_id"] == 0 and t["bos_id"] == -1 and t["problem"] is None, repr(t))
        ids = [int(x) for x in run([hmoe, "tokenize", "-m", out, "-p", "a <extra_id_0> b"]).strip().split(",")]
        check(f"vocab {vocab}: <extra_id_0> {'is 349' if sentinels else 'stays text'}, </s> last",
              ids[-1] == 1 and ((349 in ids) == bool(sentinels)), repr(ids))
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
