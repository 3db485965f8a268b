#!/bin/sh
# Rebuilds the shipped KJV model from scratch: data, tokenizer, HyperMoE and plain-MoE
# trainings (one after the other, one thread each), held-out perplexities, f32 .hmoe.
#
#   tools/train/reproduce.sh OUT_DIR        (run from the repository root)
#
# Needs Debian's bible-kjv, bible-kjv-text, python3-regex, python3-torch; and, for a
# run of minutes per model instead of hours, libopenblas0-serial (Debian's torch
# calls the system libblas.so.3, by default the slow reference BLAS; LD_LIBRARY_PATH
# below points only these commands at OpenBLAS).
set -eu
OUT=${1:?usage: tools/train/reproduce.sh OUT_DIR}
PY=/usr/bin/python3
OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-serial
if [ -d "$OPENBLAS" ]; then
  export LD_LIBRARY_PATH="$OPENBLAS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

$PY tools/train/prepare_kjv.py "$OUT/data"
$PY tools/train/train_bpe.py --vocab-size 4096 --out-dir "$OUT/tok" "$OUT/data/train.txt"
for variant in hypermoe plain-moe; do
  flag=""
  [ "$variant" = plain-moe ] && flag=--no-hypernet
  nice -n 10 $PY tools/train/train.py --data-dir "$OUT/data" --tokenizer-dir "$OUT/tok" \
    --out-dir "$OUT/$variant" --steps 1200 $flag
  $PY tools/train/eval_ppl.py "$OUT/$variant/checkpoint" "$OUT/data/eval.txt"
done
$PY tools/convert.py "$OUT/hypermoe/checkpoint" -o "$OUT/kjv-hypermoe-f32.hmoe" --name kjv-hypermoe
