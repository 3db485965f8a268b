#!/usr/bin/env bash
# CI step: hypermoe for aarch64. Cross-builds the project on this x86-64 Debian 12 host
# (tools/cmake/aarch64-linux-gnu.cmake) and runs the test suite under qemu-user as
# several CPUs, one Highway target each: NEON only (cortex-a72), SVE2 with 512-bit
# vectors (max), SVE with 512-bit vectors (a64fx), and SVE2 at 128 and 256 bits, where
# Highway's fixed-width SVE2_128 / SVE_256 targets run. The kernel tests force every
# target the CPU runs in turn; on the first SVE CPU the model-level tests run once per
# target too (.ci/simd_targets.sh). Runs after the native tests (.ci/run).
#
#   .ci/aarch64.sh                 # install, build, test
#   HMOE_AARCH64_CPUS=max .ci/aarch64.sh
#
# Environment (all optional):
#   HMOE_AARCH64_BUILD   build folder                 (default: build-aarch64)
#   HMOE_AARCH64_CPUS    qemu -cpu models to test as  (default: the five below)
#   HMOE_AARCH64_EVERY_TARGET_CPU  the CPU to run the model-level tests on once per target
#                        (default: max; "none" to skip)
#   HMOE_AARCH64_JOBS    build and ctest parallelism  (default: 2)
#   HMOE_AARCH64_FULL=1  the whole suite on every CPU (default: see SAME_ON_EVERY_CPU)
#   HMOE_AARCH64_NO_INSTALL=1   skip apt-get (everything is already installed)
#
# Needs root or sudo for apt-get. Installs, once (idempotent): the cross compiler and
# qemu-user; the arm64 architecture in dpkg; the arm64 builds of Highway, FlatBuffers and
# oneDNN. libdnnl-dev:arm64 cannot be installed next to libdnnl-dev:amd64 (both own
# /usr/include/oneapi/dnnl/dnnl_config.h, which differs), so its headers and CMake files
# are unpacked into the build folder instead and dnnl_DIR points there. The same for
# SentencePiece: neither libsentencepiece0 nor libsentencepiece-dev is Multi-Arch, so no
# arm64 build of them installs next to the amd64 one (which the tests' Python side
# needs); both arm64 packages are unpacked into the build folder, SentencePiece_ROOT
# points there, and the programs find the library through their build RPATH.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${HMOE_AARCH64_BUILD:-build-aarch64}
# qemu's linux-user mode gives SVE CPUs 512-bit vectors unless sve-default-vector-length
# (bytes) says otherwise.
CPUS=${HMOE_AARCH64_CPUS:-"cortex-a72 max a64fx max,sve-default-vector-length=16 max,sve-default-vector-length=32"}
EVERY_TARGET_CPU=${HMOE_AARCH64_EVERY_TARGET_CPU:-max}
JOBS=${HMOE_AARCH64_JOBS:-2}
TRIPLE=aarch64-linux-gnu
ARM64_LIBDIR=/usr/lib/$TRIPLE

# Tests left out under emulation, and why:
#  - api_install_example: installs, configures tools/example_app against the install and
#    runs the example directly from Python, which an x86-64 host cannot do without
#    binfmt_misc; the install and packaging logic does not depend on the architecture
#    and is tested by the native run.
#  - reference.convert_refusals, reference.python_model, reference.fb_codegen,
#    reference.python_switch, reference.switch_convert_refusals,
#    tokenizer.unicode_tables_up_to_date: host Python only (no aarch64 code runs), so
#    they would repeat the native run's results.
#  - generate.perplexity: two `hmoe perplexity` runs over 1419 tokens with GPT-2's
#    50257-token vocabulary take more than its 300 s limit under qemu (it passes when
#    given the time: 15 min on a loaded 2-core machine). The same forward pass is
#    compared with PyTorch by reference.logits.* and generate.greedy_text.*.
EXCLUDE='^(api_install_example|bad_inputs\.U01 .*|reference\.(convert_refusals|python_model|fb_codegen|python_switch|switch_convert_refusals)|tokenizer\.unicode_tables_up_to_date|generate\.perplexity)$'
# The first CPU runs everything else. The code that differs between CPUs is what is
# chosen at run time: Highway's kernels, oneDNN's JIT (on aarch64 it has SVE-512 kernels
# only: a NEON-only CPU runs its reference gemm) and glibc's string functions. The
# further CPUs skip the slow tests that reach none of that differently (text, sampler,
# file refusals, fuzz replays, the CLI's text commands) or repeat reference.logits.*'s
# comparison at GPT-2's vocabulary size (generate.greedy_text.*). The Python reference
# tests keep their PyTorch results in the build folder, so the further CPUs pay for the
# emulated runtime only.
# HMOE_AARCH64_FULL=1: everything on every CPU.
SAME_ON_EVERY_CPU='^(cli\.shipped_switch_model|tokenizer\..*|sampler\..*|fuzz\..*|bad_inputs\..*|reference\.load_refusals|generate\.greedy_text\..*|cli\.text_commands)$'

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

step_start=$SECONDS
step() {  # step NAME: prints the time the previous step took, then NAME
  echo "== aarch64: $1 (previous step: $((SECONDS - step_start)) s)"
  step_start=$SECONDS
}

install_packages() {
  step "installing the cross toolchain, qemu-user and the arm64 libraries"
  # The host side (cmake, flatc, doctest, Python and torch for the reference tests, node).
  bash tools/install-deps.sh
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
  fi
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends \
    g++-$TRIPLE qemu-user libhwy-dev:arm64 libflatbuffers-dev:arm64 libdnnl2:arm64
}

# Prints the SentencePiece_ROOT for the arm64 libsentencepiece: empty when it is installed
# (a machine without the amd64 one), else an unpacked copy of libsentencepiece0:arm64 and
# libsentencepiece-dev:arm64 (apt's candidates) in the build folder.
arm64_sentencepiece_root() {
  if [ -f $ARM64_LIBDIR/libsentencepiece.so ]; then
    return
  fi
  local stage="$PWD/$BUILD/arm64-sentencepiece"
  if [ ! -f "$stage/usr/lib/$TRIPLE/libsentencepiece.so.0" ]; then
    local download
    download=$(mktemp -d)
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$download"; fi
    (cd "$download" && apt-get download -q libsentencepiece0:arm64 libsentencepiece-dev:arm64 >&2)
    rm -rf "$stage"
    mkdir -p "$stage"
    for deb in "$download"/*.deb; do dpkg-deb -x "$deb" "$stage"; done
    rm -rf "$download"
  fi
  echo "$stage/usr"
}

# Prints the dnnl_DIR for the arm64 oneDNN: the installed libdnnl-dev:arm64 if there is
# one (a machine without the amd64 one), else an unpacked copy in the build folder whose
# library entry points at the installed arm64 runtime library.
arm64_dnnl_dir() {
  if [ -f $ARM64_LIBDIR/cmake/dnnl/dnnl-config.cmake ]; then
    echo $ARM64_LIBDIR/cmake/dnnl
    return
  fi
  local stage="$PWD/$BUILD/arm64-libdnnl-dev"
  local cmake_dir="$stage$ARM64_LIBDIR/cmake/dnnl"
  if [ ! -f "$cmake_dir/dnnl-config.cmake" ]; then
    local version download
    version=$(dpkg-query -W -f='${Version}' libdnnl2:arm64)
    download=$(mktemp -d)
    # apt downloads as the user _apt where it can write (else it warns and uses root).
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$download"; fi
    (cd "$download" && apt-get download -q "libdnnl-dev:arm64=$version" >&2)
    rm -rf "$stage"
    mkdir -p "$stage"
    dpkg-deb -x "$download"/libdnnl-dev_*_arm64.deb "$stage"
    rm -rf "$download"
    # The package's CMake files name libdnnl.so.<major.minor> next to themselves.
    local lib
    lib=$(readlink -f $ARM64_LIBDIR/libdnnl.so.2)
    ln -sf "$lib" "$stage$ARM64_LIBDIR/$(basename "$lib")"
  fi
  echo "$cmake_dir"
}

if [ "${HMOE_AARCH64_NO_INSTALL:-0}" != 1 ]; then
  install_packages
fi

step "configuring $BUILD"
mkdir -p "$BUILD"
spm_root=$(arm64_sentencepiece_root)
cmake -S . -B "$BUILD" --toolchain tools/cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -Ddnnl_DIR="$(arm64_dnnl_dir)" ${spm_root:+-DSentencePiece_ROOT="$spm_root"}

# As in the native tests: one OpenMP thread, the 2-core CI machine runs two tests at once.
export OMP_NUM_THREADS=1

step "building"
cmake --build "$BUILD" -j"$JOBS"

# The target Highway must pick on each CPU model (hwy::SupportedTargets: SVE2 needs
# SVE2 and SVE-AES; SVE_256 / SVE2_128 a vector length of 32 / 16 bytes).
expected_target() {
  case $1 in
    cortex-a*|neoverse-n1) echo neon ;;
    a64fx) echo sve ;;
    max,sve-default-vector-length=16) echo sve2_128 ;;
    max,sve-default-vector-length=32) echo sve_256 ;;
    max) echo sve2 ;;
    *) echo "" ;;  # not known here: not checked
  esac
}

# The one binary picks its SIMD target at run time: check the pick on each CPU, that
# every SVE target is compiled in, and that HMOE_SIMD_TARGET forces each target the CPU
# runs.
failed=()
hmoe=("$BUILD/emulated/hmoe")  # tests/CMakeLists.txt: hmoe under the emulator
for cpu in $CPUS; do
  step "hmoe version as $cpu"
  if ! out=$(QEMU_CPU=$cpu "${hmoe[@]}" version); then
    failed+=("$cpu: hmoe version")
    continue
  fi
  echo "$out"
  compiled=$(echo "$out" | sed -n 's/^  compiled: *//p')
  for t in sve2_128 sve_256 sve2 sve neon scalar; do
    if ! echo ", $compiled," | grep -q ", $t,"; then failed+=("$cpu: $t is not compiled in"); fi
  done
  want=$(expected_target "$cpu")
  if [ -n "$want" ] && ! echo "$out" | grep -q "^SIMD target: *$want\$"; then
    failed+=("$cpu: picked $(echo "$out" | sed -n 's/^SIMD target: *//p'), not $want")
  fi
  for t in $(echo "$out" | sed -n 's/^  this CPU: *//p' | tr -d ','); do
    if ! QEMU_CPU=$cpu HMOE_SIMD_TARGET=$t "${hmoe[@]}" version | grep -q "^SIMD target: *$t\$"; then
      failed+=("$cpu: HMOE_SIMD_TARGET=$t")
    fi
  done
done

first=1
for cpu in $CPUS; do
  step "ctest as qemu -cpu $cpu"
  exclude=$EXCLUDE
  if [ $first = 0 ] && [ "${HMOE_AARCH64_FULL:-0}" != 1 ]; then
    exclude="$EXCLUDE|$SAME_ON_EVERY_CPU"
  fi
  first=0
  if ! QEMU_CPU=$cpu ctest --test-dir "$BUILD" -j"$JOBS" --output-on-failure -E "$exclude"; then
    failed+=("$cpu: ctest")
  fi
done

if [ "$EVERY_TARGET_CPU" != none ]; then
  step "model-level tests once per SIMD target, as qemu -cpu $EVERY_TARGET_CPU"
  QEMU_CPU=$EVERY_TARGET_CPU HMOE_SIMD_JOBS=$JOBS bash .ci/simd_targets.sh "$BUILD" ||
    failed+=("$EVERY_TARGET_CPU: simd_targets.sh")
fi
step "done"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'aarch64: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "aarch64: all tests passed as: $CPUS"
