#!/usr/bin/env python3
"""CLI tests of `hmoe tokenize` and `hmoe inspect` on .hmoe files carrying a
SentencePiece tokenizer (made by tests/tokenizer/make_spm_models.py): T5's conventions
in the output, the kind, size and special ids in `inspect`, refusals. Ids against
python3-sentencepiece on a corpus: tests/tokenizer/spm_agreement.py.

    test_spm_commands.py HMOE_BIN SPM_DIR
"""
import json
import os
import sys

import cli_checks
from cli_checks import check, hmoe

cli_checks.HMOE = sys.argv[1]
SPM_DIR = sys.argv[2]


def main():
    t5 = os.path.join(SPM_DIR, "t5like.hmoe")
    bytefb = os.path.join(SPM_DIR, "bytefb.hmoe")

    # inspect: kind, size, markers, specials.
    rc, out, err = hmoe("inspect", t5)
    check("inspect t5like exits 0", rc == 0, err)
    for needle in ("architecture: SWITCH_HYPERMOE", "tokenizer: SENTENCEPIECE, 4100 tokens", "100 added tokens",
                   "eos 1 \"</s>\"", "bos -1", "pad 0 \"<pad>\"", "special tokens: 103 (0-2, 4000-4099)"):
        check(f"inspect shows {needle!r}", needle in out, out)
    check("inspect: no tokenizer problem", "tokenizer problem" not in out, out)
    rc, out, err = hmoe("inspect", bytefb, "--json")
    check("inspect --json exits 0", rc == 0, err)
    if rc == 0:
        t = json.loads(out)["tokenizer"]
        check("inspect --json: tokenizer", t["kind"] == "SENTENCEPIECE" and t["vocab_size"] == 3000 and
              t["eos_id"] == 1 and t["bos_id"] == 3 and t["pad_id"] == 0 and t["special_ids"] == [0, 1, 2, 3] and
              t["sp_model_bytes"] > 0 and t["problem"] is None, repr(t))

    # tokenize: </s> appended; a sentinel's text is its id; pieces; --no-special.
    rc, out, err = hmoe("tokenize", "-m", t5, "-p", "Hello world<extra_id_0>")
    ids = [int(x) for x in out.strip().split(",")] if rc == 0 else []
    check("tokenize t5like exits 0", rc == 0, err)
    check("tokenize: </s> (1) at the end", ids[-1:] == [1], out)
    check("tokenize: <extra_id_0> is 4099", ids[-2:-1] == [4099], out)
    rc, out, err = hmoe("tokenize", "-m", t5, "-p", "Hello world", "--pieces")
    lines = out.strip().split("\n")
    check("tokenize --pieces: id and piece per line", rc == 0 and lines[-1] == "1\t</s>" and
          lines[0].split("\t")[1].startswith("\u2581"), out)
    rc, out, err = hmoe("tokenize", "-m", t5, "-p", "</s>", "--no-special", "--json")
    j = json.loads(out) if rc == 0 else {}
    check("tokenize --no-special: </s> as text", rc == 0 and j["count"] > 2 and j["ids"].count(1) == 1, out + err)
    rc, out, err = hmoe("tokenize", "-m", bytefb, "-p", "x", "--json")
    j = json.loads(out) if rc == 0 else {}
    check("tokenize: a file's bos before, eos after", rc == 0 and j["ids"][0] == 3 and j["ids"][-1] == 1, out + err)

    # Invalid UTF-8 is refused (exit 1, one line), or encoded when allowed.
    bad = os.path.join(SPM_DIR, "cli_invalid.txt")
    with open(bad, "wb") as f:
        f.write(b"abc\xff def")
    rc, out, err = hmoe("tokenize", "-m", t5, "-f", bad)
    check("tokenize: invalid UTF-8 refused", rc == 1 and "byte 0xFF at offset 3" in err and
          len(err.strip().split("\n")) == 1, f"{rc} {err!r}")
    rc, out, err = hmoe("tokenize", "-m", t5, "-f", bad, "--allow-invalid-utf8")
    check("tokenize --allow-invalid-utf8: <unk> for the byte", rc == 0 and ",2," in "," + out.strip() + ",", out + err)
    return cli_checks.summary()


if __name__ == "__main__":
    sys.exit(main())
