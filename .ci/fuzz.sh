#!/usr/bin/env bash
# CI step: builds the libFuzzer targets of tests/fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and fuzzes each for a bounded time starting from its
# committed seeds and past findings. Fails when any target crashes, leaks, trips a
# sanitizer, times out on one input or runs out of memory; the input is printed (hex)
# and kept under $BUILD/fuzz-work/<target>/artifacts/.
#
#   .ci/fuzz.sh                      # 60 s per target, build dir build-fuzz
#   HMOE_FUZZ_SECONDS=600 .ci/fuzz.sh
#   HMOE_FUZZ_EXTRA_FLAGS=-fno-sanitize=float-cast-overflow .ci/fuzz.sh   # past a finding while it is fixed
# Cost on 2 cores from a clean clone: about 7.5 min (the clang build about 3, then 60 s
# per target).
# Reproduce a finding: build-fuzz/tests/fuzz/fuzz_<target> <artifact file>
# Then add the input to tests/fuzz/regressions/<target>/ (replayed by ctest in every build).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${HMOE_FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_PER_TARGET=${HMOE_FUZZ_SECONDS:-60}
JOBS=${HMOE_JOBS:-2}
TARGETS=(model_loader tokenizer sentencepiece cli_args)

# --- dependencies: the project's own, plus clang and its runtime libraries (libFuzzer,
# the sanitizers' runtimes, compiler-rt builtins). Idempotent.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
bash tools/install-deps.sh
# libomp-14-dev: the omp.h clang reads (GCC's lies in GCC's private include folder, which
# clang does not search); the programs still link GCC's libgomp, see below.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev libomp-14-dev

# --- build. OpenMP: clang would compile the pragmas against its own libomp, while oneDNN
# uses GCC's libgomp (two OpenMP runtimes in one process), and clang 14 crashes compiling
# Highway kernels inside OpenMP regions ("Cannot select ... X86ISD::PACKUS"). So this
# build links libgomp and leaves the pragmas off (-fopenmp=libgomp defines no _OPENMP):
# the fuzzer runs one thread anyway, and determinism helps reproduce what it finds.
GOMP=$(g++ -print-file-name=libgomp.so)
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHMOE_FUZZ=ON -DHMOE_SANITIZE=address,undefined \
  -DHMOE_BUILD_BENCH=OFF -DHMOE_FUZZ_EXTRA_FLAGS="${HMOE_FUZZ_EXTRA_FLAGS:-}" \
  -DOpenMP_C_FLAGS=-fopenmp=libgomp -DOpenMP_CXX_FLAGS=-fopenmp=libgomp \
  -DOpenMP_C_LIB_NAMES=gomp -DOpenMP_CXX_LIB_NAMES=gomp -DOpenMP_gomp_LIBRARY="$GOMP"
cmake --build "$BUILD" -j"$JOBS" --target "${TARGETS[@]/#/fuzz_}"

# --- fuzz
export OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=""
for t in "${TARGETS[@]}"; do
  work="$BUILD/fuzz-work/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  inputs=("$work/corpus" "tests/fuzz/corpus/$t")  # new inputs go to the first folder only
  [ -d "tests/fuzz/regressions/$t" ] && inputs+=("tests/fuzz/regressions/$t")
  extra=()
  [ -f "tests/fuzz/$t.dict" ] && extra+=("-dict=tests/fuzz/$t.dict")
  echo "=== fuzz_$t: ${SECONDS_PER_TARGET} s"
  set +e
  "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=30 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${extra[@]}" "${inputs[@]}" 2>&1 | tee "$work/log.txt" |
    grep -v -E "^#[0-9]+.*(NEW|REDUCE|pulse)|NEW_FUNC"
  rc=${PIPESTATUS[0]}
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt" | tail -1)
  summary+="fuzz_$t: exit $rc, ${runs:-?} executions (limit ${SECONDS_PER_TARGET} s)"$'\n'
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    for a in "$work"/artifacts/*; do
      [ -f "$a" ] || continue
      echo "--- finding: $a ($(stat -c %s "$a") bytes); first 4 KiB in hex:"
      head -c 4096 "$a" | od -A d -t x1 | head -260
    done
  fi
done

echo "=== summary"
printf '%s' "$summary"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "FAILED: ${failed[*]} (inputs under $BUILD/fuzz-work/<target>/artifacts/)"
  exit 1
fi
echo "no findings"
