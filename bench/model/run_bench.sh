#!/usr/bin/env bash
# Reproduces the tables of bench/README.md: HyperMoE with the HyperExpert cache and with
# the hypernetwork run per token, against plain MoE, at GPT-2-small dims.
#
#   bench/model/run_bench.sh [HMOE] [SET]
#     HMOE  the hmoe binary (default: build/tools/hmoe)
#     SET   n8 | n32 | n64 | switch | all (default all)
#
# Each `hmoe bench` call takes 1-4 minutes. The machine this was written on is shared,
# so every call first waits (up to WAIT_MAX seconds, default 600) for the 1-minute load
# average to drop below LOAD_MAX (default 0.6); hmoe bench itself warns when other
# processes were busy during the timed runs. Extra flags: HMOE_BENCH_FLAGS.
set -euo pipefail
HMOE=${1:-build/tools/hmoe}
SET=${2:-all}
LOAD_MAX=${LOAD_MAX:-0.6}
WAIT_MAX=${WAIT_MAX:-600}
OUT=${OUT:-md}
read -r -a EXTRA <<< "${HMOE_BENCH_FLAGS:-}"

wait_quiet() {
  local waited=0 load
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" -v m="$LOAD_MAX" 'BEGIN { exit !(l < m) }'; then return; fi
    if (( waited >= WAIT_MAX )); then
      echo "run_bench: load average still $load after ${WAIT_MAX}s; measuring anyway" >&2
      return
    fi
    sleep 15
    waited=$((waited + 15))
  done
}

bench() {
  wait_quiet
  echo "### hmoe bench $*"
  echo
  "$HMOE" bench -o "$OUT" "$@" "${EXTRA[@]}"
  echo
}

GPT2=d=768,L=12,b=64,H=128,V=50257
if [[ $SET == n8 || $SET == all ]]; then
  # f32: 2.1 GB of weights; the full cache is 8 or 28 patterns x 12 layers (36 / 130 MiB).
  bench --synthetic "$GPT2,N=8,k=1" -p 128 -n 64 -t 1,2
  bench --synthetic "$GPT2,N=8,k=2" -p 128 -n 64 -t 1,2
fi
if [[ $SET == n32 || $SET == all ]]; then
  # q8 (f32 would be 7.3 GB): 496 patterns/layer, 5952 entries of 104 KiB = 605 MiB.
  bench --synthetic "$GPT2,N=32,k=2" --dtype q8 --hyper-cache-mb 640 -p 128 -n 64 -t 1,2
  # The default 256 MiB budget holds 42% of them: on demand, evicting.
  bench --synthetic "$GPT2,N=32,k=2" --dtype q8 -p 128 -n 64 -t 1,2
fi
if [[ $SET == n64 || $SET == all ]]; then
  # q8 (f32 would be 14.5 GB): C(64, 8) = 4.4e9 patterns per layer, never all cached.
  bench --synthetic "$GPT2,N=64,k=8" --dtype q8 -p 128 -n 32 -t 1,2
fi
if [[ $SET == switch || $SET == all ]]; then
  # switch-base-8's dims: 12 + 12 blocks, d 768, 12 heads of 64, d_ff 3072, 8 experts in
  # every other block (top-1, capacity 64 as its config), vocab 32128, tied head. f32: 2.5 GB.
  # pp encodes a 128-token input; tg decodes after a 64-token input.
  bench --synthetic arch=switch,d=768,L=12,N=8,k=1,b=64,H=128,V=32128,heads=12,cap=64 --dtype f32,q8 \
    -p 128 -n 64 -t 1,2
fi
