#!/usr/bin/env bash
# CI step: the model-level tests once per SIMD target. The binary picks its Highway target
# at run time (the best this CPU runs), so the main test run exercises one target only;
# this runs the tests that compare whole-model numbers once more with each target that
# this CPU can run forced through HMOE_SIMD_TARGET (AVX-512, AVX2, SSE4, SSSE3, scalar on
# an AVX-512 x86-64; NEON, SVE, SVE2, scalar on an SVE2 aarch64 under qemu) and fails if
# any run fails. The kernel tests already force every target themselves (for_each_target
# in tests/kernels), so they are not repeated here.
#
#   .ci/simd_targets.sh [BUILD_DIR]        # default: build (configured and built if absent)
#   QEMU_CPU=max .ci/simd_targets.sh build-aarch64     # a cross build, under qemu-user
#
# Environment (all optional):
#   HMOE_SIMD_TARGETS  the targets to force (default: every one `hmoe version` lists for this CPU)
#   HMOE_SIMD_JOBS     ctest parallelism (default: 2)
#
# The tests, and why these: each compares the numbers of whole models, through the
# programs users run, against an independent result.
#   reference.logits.*   `hmoe logits` against the PyTorch reference: f32 logits within
#                        1e-4, greedy tokens identical, cached vs per-token HyperExperts,
#                        1 vs 2 threads bit-identical (five GPT-2 model presets)
#   reference.switch_logits.*  the same for the Switch Transformer (five presets, expert
#                        capacity binding in one)
#   api.*, api_c_*       the C and C++ API: greedy tokens against PyTorch's, sessions on
#                        several threads against one alone
#   test_hyper's tests   HyperExpert cache: cached == per-token logits, baked == unbaked,
#                        on demand == precomputed, thread counts
# Left out: generate.* (GPT-2's 50257-token vocabulary makes them the slowest tests, and
# their forward pass is the one reference.logits.* compares), and everything that does
# not multiply matrices or is target-independent by construction (tokenizer, sampler,
# formats, refusals, fuzz replays, the quantizer's block codecs).
#
# That HMOE_SIMD_TARGET reaches every process the tests start (ctest -> Python -> hmoe,
# ctest -> test program) is checked first: with a target name that does not exist, the
# kernels refuse the name on their first product, so every test that multiplies a matrix
# must fail. Doctest cases that pass with it never reached a kernel (argument checks,
# routing tables): they are left out of the per-target runs and listed. A script-driven
# test (Python starting hmoe) that passes means the variable was lost on the way: that
# fails this step.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:-build}
JOBS=${HMOE_SIMD_JOBS:-2}

if [ ! -f "$BUILD/CTestTestfile.cmake" ]; then
  cmake -S . -B "$BUILD"
  cmake --build "$BUILD" -j"$JOBS"
fi
# The hmoe that tests run: in a cross build its emulator launcher (tests/CMakeLists.txt).
hmoe="$BUILD/tools/hmoe"
if [ -x "$BUILD/emulated/hmoe" ]; then hmoe="$BUILD/emulated/hmoe"; fi
# As in the main test run: one OpenMP thread per test (tests that compare thread counts
# set their own).
export OMP_NUM_THREADS=1
unset HMOE_SIMD_TARGET

"$hmoe" version
if [ -n "${HMOE_SIMD_TARGETS:-}" ]; then
  targets=$HMOE_SIMD_TARGETS
else
  targets=$("$hmoe" version | sed -n 's/^  this CPU: *//p' | tr -d ',')
fi
[ -n "$targets" ] || { echo "simd_targets: no targets from '$hmoe version'" >&2; exit 1; }

# The candidates, by the program a test runs (doctest-discovered tests have no common
# prefix), with whether ctest starts a script (which then starts hmoe) or a test program.
candidates="$BUILD/simd_targets_candidates.json"
ctest --test-dir "$BUILD" --show-only=json-v1 | /usr/bin/python3 -c '
import json, re, sys
picked = {}
for t in json.load(sys.stdin)["tests"]:
    name, cmd = t["name"], t.get("command") or []
    line = " ".join(cmd)
    if (re.match(r"reference\.(logits|switch_logits)\.", name) or re.match(r"api(\.|_c_)", name)
            or re.search(r"/test_hyper( |$)", line)):
        picked[name] = any(c.endswith(".py") for c in cmd)
json.dump(picked, sys.stdout)
' > "$candidates"

# An anchored regex of exact names (ctest -R takes CMake's regex syntax), from stdin.
names_regex() {
  /usr/bin/python3 -c '
import sys
special = set("\\^$.|?*+()[]{}")
names = [l.rstrip("\n") for l in sys.stdin if l.strip()]
print("^(" + "|".join("".join("\\" + c if c in special else c for c in n) for n in names) + ")$")
'
}

start=$SECONDS
failed=()

# Fixture setups (api_models: the API tests' models) run once, here: the runs below leave
# them out (-FS) and reuse what they made.
echo "== simd_targets: fixtures"
ctest --test-dir "$BUILD" -j"$JOBS" -R '^api_models$' --output-on-failure

echo "== simd_targets: HMOE_SIMD_TARGET=no-such-target: every test that multiplies must fail"
probe_xml="$PWD/$BUILD/simd_targets_probe.xml"
regex=$(/usr/bin/python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))))' "$candidates" | names_regex)
HMOE_SIMD_TARGET=no-such-target ctest --test-dir "$BUILD" -j"$JOBS" -R "$regex" -FS '.*' \
  --output-junit "$probe_xml" >"$BUILD/simd_targets_probe.log" 2>&1 || true
selected="$BUILD/simd_targets_tests.txt"
if ! /usr/bin/python3 - "$candidates" "$probe_xml" "$selected" <<'PY'
import json, sys
import xml.etree.ElementTree as ET
candidates = json.load(open(sys.argv[1]))
ran = {}
for case in ET.parse(sys.argv[2]).getroot().iter("testcase"):
    ran[case.get("name")] = case.find("failure") is None and case.get("status") != "fail"
missing = sorted(set(candidates) - set(ran))
lost = sorted(n for n, ok in ran.items() if ok and candidates.get(n))
no_products = sorted(n for n, ok in ran.items() if ok and not candidates.get(n))
keep = sorted(n for n, ok in ran.items() if not ok)
for n in no_products:
    print(f"  left out (no matrix product): {n}")
with open(sys.argv[3], "w") as f:
    f.write("\n".join(keep) + "\n")
bad = False
if missing:
    print("simd_targets: these tests did not run:", *missing, sep="\n  ", file=sys.stderr)
    bad = True
if lost:
    print("simd_targets: these tests passed with a target that does not exist, so the programs they",
          "start did not see HMOE_SIMD_TARGET:", *lost, sep="\n  ", file=sys.stderr)
    bad = True
if not keep:
    print("simd_targets: no test failed with a target that does not exist", file=sys.stderr)
    bad = True
sys.exit(1 if bad else 0)
PY
then
  failed+=("HMOE_SIMD_TARGET does not reach every test (log: $BUILD/simd_targets_probe.log)")
fi
count=$(grep -c . "$selected" || true)
regex=$(names_regex < "$selected")
echo "== simd_targets: $count tests, targets: $targets ($((SECONDS - start)) s so far)"

for t in $targets; do
  echo "== simd_targets: HMOE_SIMD_TARGET=$t ($((SECONDS - start)) s so far)"
  if ! HMOE_SIMD_TARGET=$t "$hmoe" version | grep -q "^SIMD target: *$t\$"; then
    failed+=("$t: hmoe version does not report it")
    continue
  fi
  HMOE_SIMD_TARGET=$t ctest --test-dir "$BUILD" -j"$JOBS" -R "$regex" -FS '.*' --output-on-failure ||
    failed+=("$t: ctest")
done
echo "== simd_targets: done in $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'simd_targets: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "simd_targets: $count model-level tests passed with each of: $targets"
