#!/bin/sh
# Rebuilds the KJV Switch models from scratch: the text-to-text tasks, the SentencePiece
# tokenizer, the Switch HyperMoE and plain Switch trainings (one after the other, one
# thread each), their greedy evaluation with per-row predictions, and the f32 .hmoe of
# the HyperMoE model.
#
#   tools/train/reproduce_switch.sh OUT_DIR        (run from the repository root)
#
# Needs Debian's bible-kjv, bible-kjv-text, python3-torch, python3-sentencepiece; and, for
# a run of tens of minutes per model instead of hours, libopenblas0-serial (Debian's
# torch calls the system libblas.so.3, by default the slow reference BLAS;
# LD_LIBRARY_PATH below points only these commands at OpenBLAS).
set -eu
OUT=${1:?usage: tools/train/reproduce_switch.sh OUT_DIR}
PY=/usr/bin/python3
OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-serial
if [ -d "$OPENBLAS" ]; then
  export LD_LIBRARY_PATH="$OPENBLAS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

$PY tools/train/prepare_glue_kjv.py "$OUT/data"
$PY tools/train/train_spm.py --vocab-size 4096 --out-dir "$OUT/tok" \
  "$OUT/data/testament.train.tsv" "$OUT/data/newtestament.train.tsv"
for variant in hypermoe plain; do
  flag=""
  [ "$variant" = plain ] && flag=--plain
  nice -n 10 $PY tools/train/train_switch.py --data-dir "$OUT/data" --tokenizer-dir "$OUT/tok" \
    --out-dir "$OUT/$variant" --steps 4000 $flag
  nice -n 10 $PY tools/train/eval_switch.py "$OUT/$variant/checkpoint" --data-dir "$OUT/data" \
    --predictions-dir "$OUT/$variant/predictions" > "$OUT/$variant/eval.json"
  cat "$OUT/$variant/eval.json"
done
$PY tools/convert.py "$OUT/hypermoe/checkpoint" -o "$OUT/kjv-switch-hypermoe-f32.hmoe" \
  --name kjv-switch-hypermoe --n-positions 128
