#!/usr/bin/env bash
# CI step: the whole project built with AddressSanitizer + UndefinedBehaviorSanitizer
# (GCC, the project's compiler), then its whole ctest suite. Any sanitizer report fails
# the test that triggered it (-fno-sanitize-recover=all, halt_on_error, and LeakSanitizer
# at exit), so this script fails. GCC's "undefined" group lacks float-cast-overflow
# (clang's has it), so it is named too: a NaN or out-of-range float converted to an
# integer is undefined behaviour that x86 hides and other CPUs need not.
#
#   .ci/sanitize.sh                 # build dir build-sanitize
#   HMOE_SANITIZE_LABEL_EXCLUDE=reference .ci/sanitize.sh   # skip a ctest label
#
# Optimisation: -O1 -g, the level AddressSanitizer's documentation recommends: stack
# traces stay exact, asserts stay on (no -DNDEBUG), and the suite runs in minutes.
#
# Cost on 2 cores (a clean clone, the machine shared with another build): 19.3 min in
# all, of which the build about 12.5 and the 180 tests 6.5 (387 s; the `reference`
# label, PyTorch comparisons and the converter's refusals, takes 410 CPU seconds of
# them). With the main job (~15 min), the aarch64 job (~20 min) and .ci/fuzz.sh
# (~6.5 min) that is about an hour of a 90-minute CI run, so nothing is left out by
# default. HMOE_SANITIZE_LABEL_EXCLUDE=reference is the lever if it stops fitting, at a
# price: reference.load_refusals, the runtime fed every truncation of a file, would
# leave the sanitizers' sight.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${HMOE_SANITIZE_BUILD_DIR:-build-sanitize}
JOBS=${HMOE_JOBS:-2}
LABEL_EXCLUDE=${HMOE_SANITIZE_LABEL_EXCLUDE:-}

bash tools/install-deps.sh  # idempotent

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DHMOE_SANITIZE=address,undefined,float-cast-overflow -DHMOE_BUILD_BENCH=ON
cmake --build "$BUILD" -j"$JOBS"

# No suppressions: LeakSanitizer reported nothing for libgomp or oneDNN (the usual
# suspects, both uninstrumented), so there is nothing to justify one.
# One test is left out: api_install_example builds a separate consumer project against
# the installed library without sanitizer flags, and a sanitized libhypermoe.so cannot
# be loaded into an unsanitized executable ("ASan runtime does not come first"). It
# runs in the main job; drop the exclusion once that test passes HMOE_SANITIZE on.
EXCLUDE="^api_install_example$"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

ctest_args=(--test-dir "$BUILD" -j"$JOBS" --output-on-failure --timeout 1500 -E "$EXCLUDE")
if [ -n "$LABEL_EXCLUDE" ]; then ctest_args+=(-LE "$LABEL_EXCLUDE"); fi
start=$(date +%s)
ctest "${ctest_args[@]}"
echo "sanitizer suite: $(( $(date +%s) - start )) s"
