// Which Highway SIMD target the kernels run, and forcing one (tests, benchmarks, users
// chasing a bug). Names are Highway's in lower case: "avx3_dl", "avx3", "avx2", "sse4",
// "ssse3", "neon", "scalar", ...
//
// The environment variable HMOE_SIMD_TARGET=<name> forces a target for the whole
// process; it is read on the first kernel call (or the first call below). "auto" or an
// empty value keeps the best target the CPU supports.
#pragma once
#include <string>
#include <vector>

namespace hmoe::kernels {

// Targets compiled into the kernels, best first.
std::vector<std::string> simd_compiled_targets();
// Those of them this CPU can run, best first.
std::vector<std::string> simd_supported_targets();
// The target linear() runs now.
std::string simd_active_target();
// Runs `name` from now on ("auto" or "" for the best). Throws std::invalid_argument,
// naming the value and the choices, if it is not compiled in or this CPU cannot run it.
// Not thread-safe against kernels running concurrently: call it between products.
void simd_force_target(const std::string& name);

// Applies HMOE_SIMD_TARGET once per process (a bad value throws, every time asked).
void simd_apply_env_once();

}  // namespace hmoe::kernels
