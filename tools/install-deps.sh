#!/usr/bin/env bash
# Installs what hypermoe needs to build, test and run on Debian 12 (bookworm).
# Idempotent: packages already present are left as they are. Needs root (or sudo).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

packages=(
  # toolchain
  g++ cmake make pkg-config git
  # the runtime's libraries (oneDNN's CMake config needs the OpenCL dev package on amd64)
  libdnnl-dev ocl-icd-opencl-dev libhwy-dev libflatbuffers-dev flatbuffers-compiler doctest-dev
  # Python tooling: reference model, converter, training (Debian's interpreter /usr/bin/python3)
  python3 python3-torch python3-numpy python3-flatbuffers python3-regex python3-sentencepiece
)
# The tokenizer test compares against GPT-2's encoder from npm: it needs node and npm.
# Keep a node that is already installed (it may ship its own npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
