#!/bin/sh
# Rebuilds the KJV Switch models from scratch: the text-to-text tasks, the SentencePiece
# tokenizer, the Switch HyperMoE and plain Switch trainings (one after the other, one
# thread each), their greedy evaluation with per-row predictions by the PyTorch reference;
# then each converted to .hmoe (f32) and quantized (q8), scored by `hmoe eval`, and the
# runtime's predictions compared with the reference's row by row.
#
#   tools/train/reproduce_switch.sh OUT_DIR [STEPS]   (run from the repository root,
#                                                      after building build/tools/hmoe)
#
# STEPS defaults to 1500, the shipped model's training (models/README.md); the q8 file of
# the HyperMoE model is OUT_DIR/kjv-switch-hypermoe-q8.hmoe. $HMOE names another hmoe.
#
# Needs Debian's bible-kjv, bible-kjv-text, python3-torch, python3-sentencepiece; and, for
# a run of tens of minutes per model instead of hours, libopenblas0-serial (Debian's
# torch calls the system libblas.so.3, by default the slow reference BLAS;
# LD_LIBRARY_PATH below points only these commands at OpenBLAS).
set -eu
OUT=${1:?usage: tools/train/reproduce_switch.sh OUT_DIR [STEPS]}
STEPS=${2:-1500}
PY=/usr/bin/python3
HMOE=${HMOE:-build/tools/hmoe}
OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-serial
TASKS="testament newtestament"
[ -x "$HMOE" ] || { echo "reproduce_switch.sh: build hmoe first ($HMOE)" >&2; exit 2; }

(
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
      --out-dir "$OUT/$variant" --steps "$STEPS" $flag
    nice -n 10 $PY tools/train/eval_switch.py "$OUT/$variant/checkpoint" --data-dir "$OUT/data" \
      --predictions-dir "$OUT/$variant/predictions" > "$OUT/$variant/eval.json"
    cat "$OUT/$variant/eval.json"
  done
)

for variant in hypermoe plain; do
  $PY tools/convert.py "$OUT/$variant/checkpoint" -o "$OUT/kjv-switch-$variant-f32.hmoe" \
    --name "kjv-switch-$variant" --n-positions 128
  "$HMOE" quantize "$OUT/kjv-switch-$variant-f32.hmoe" "$OUT/kjv-switch-$variant-q8.hmoe" --type q8
  for dtype in f32 q8; do
    for task in $TASKS; do
      pred="$OUT/$variant-$task-$dtype.pred.tsv"
      "$HMOE" eval -m "$OUT/kjv-switch-$variant-$dtype.hmoe" --data "$OUT/data/$task.eval.tsv" \
        --max-tokens 16 --predictions "$pred" -o json
      # f32 must give the reference's predictions on every row; q8 may flip near ties.
      $PY tools/train/compare_predictions.py "$OUT/$variant/predictions/$task.eval.pred.tsv" "$pred" ||
        [ "$dtype" = q8 ]
    done
  done
done
