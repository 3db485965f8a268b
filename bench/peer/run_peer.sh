#!/usr/bin/env bash
# hypermoe beside llama.cpp at the same dims (GPT-2-small width and depth, 8 experts, top
# 2, GPT-2's vocabulary), random weights, q8_0 and q4_0, 1 and 2 threads: llama-bench and
# `hmoe bench` one after the other, then one table of both (bench/peer/README.md).
#
#   bench/peer/run_peer.sh LLAMA_SRC [LLAMA_BUILD] [HMOE] > results.md
#
# LLAMA_SRC: a llama.cpp source tree you have (never vendored here). It is built in
# LLAMA_BUILD (default LLAMA_SRC/build-hmoe-peer; native CPU flags, llama-bench and
# llama-quantize only), its gguf-py writes a random f16 Mixtral-architecture model of the
# same dims (bench/peer/make_mixtral_gguf.py) and llama-quantize --pure makes Q8_0 and Q4_0
# of it (every tensor in that type, as hmoe's synthetic q8/q4 models). HMOE defaults to
# build/tools/hmoe. Raw outputs stay in LLAMA_BUILD/peer-run/ (llama.json, hmoe.json, logs).
# Environment: PEER_REPS (8), PEER_THREADS (1,2), PEER_PROMPT (128), PEER_GEN (64);
# PEER_NO_AMX=1 builds llama.cpp without AMX, PEER_CMAKE_FLAGS adds configure flags
# (bench/peer/README.md). Delete LLAMA_BUILD to rebuild with other flags.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -lt 1 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
SRC=$(cd "$1" && pwd)
BUILD=${2:-$SRC/build-hmoe-peer}
HMOE=${3:-build/tools/hmoe}
REPS=${PEER_REPS:-8}
THREADS=${PEER_THREADS:-1,2}
PP=${PEER_PROMPT:-128}
TG=${PEER_GEN:-64}
OUT=$BUILD/peer-run
mkdir -p "$OUT"
[ -x "$HMOE" ] || { echo "run_peer: no hmoe at $HMOE (build it first)" >&2; exit 1; }

if [ ! -x "$BUILD/bin/llama-bench" ] || [ ! -x "$BUILD/bin/llama-quantize" ]; then
  echo "run_peer: building llama.cpp in $BUILD" >&2
  extra=()
  if [ "${PEER_NO_AMX:-0}" = 1 ]; then
    no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    extra+=("-DCMAKE_C_FLAGS=$no_amx" "-DCMAKE_CXX_FLAGS=$no_amx")
  fi
  read -r -a more <<< "${PEER_CMAKE_FLAGS:-}"
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF "${extra[@]}" "${more[@]}" \
    >"$OUT/cmake.log" 2>&1
  cmake --build "$BUILD" -j"$(nproc)" --target llama-bench llama-quantize >"$OUT/build.log" 2>&1
fi

F16=$OUT/mixtral-f16.gguf
if [ ! -f "$F16" ]; then
  echo "run_peer: writing $F16" >&2
  /usr/bin/python3 bench/peer/make_mixtral_gguf.py "$SRC" "$F16"
fi
for t in Q8_0 Q4_0; do
  q=$OUT/mixtral-$t.gguf
  [ -f "$q" ] || "$BUILD/bin/llama-quantize" --pure "$F16" "$q" "$t" >"$OUT/quantize-$t.log" 2>&1
done

echo "run_peer: llama-bench" >&2
"$BUILD/bin/llama-bench" -m "$OUT/mixtral-Q8_0.gguf,$OUT/mixtral-Q4_0.gguf" -p "$PP" -n "$TG" -t "$THREADS" \
  -r "$REPS" -o json >"$OUT/llama.json" 2>"$OUT/llama-bench.log"
echo "run_peer: hmoe bench" >&2
"$HMOE" bench --synthetic d=768,L=12,N=8,k=2,b=64,H=128,V=50257 --dtype q8,q4 --configs moe,cached \
  -p "$PP" -n "$TG" -r "$REPS" -t "$THREADS" -o json >"$OUT/hmoe.json" 2>"$OUT/hmoe-bench.log"

echo "# hypermoe beside llama.cpp ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown source))"
echo
echo "hmoe: $("$HMOE" version | head -2 | tr '\n' ' ')"
echo "llama.cpp: $(grep -m1 -o '"build_commit": "[^"]*"' "$OUT/llama.json" || true), $(grep -m1 -o '"cpu_info": "[^"]*"' "$OUT/llama.json" || true)"
grep -h "other processes" "$OUT/hmoe-bench.log" "$OUT/hmoe.json" 2>/dev/null | head -2 || true
echo
/usr/bin/python3 bench/peer/combine.py "$SRC" "$OUT/llama.json" "$OUT/hmoe.json" "$OUT/mixtral-Q8_0.gguf" "$OUT/mixtral-Q4_0.gguf"
