// Listing and forcing the Highway target.
#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "runtime/kernels/simd_target.h"

using namespace hmoe;

TEST_CASE("compiled targets include scalar; the active one is the best supported") {
  const auto compiled = kernels::simd_compiled_targets();
  const auto supported = kernels::simd_supported_targets();
  REQUIRE(!compiled.empty());
  CHECK(std::find(compiled.begin(), compiled.end(), "scalar") != compiled.end());
  for (const auto& s : supported) CHECK(std::find(compiled.begin(), compiled.end(), s) != compiled.end());
  kernels::simd_force_target("auto");
  CHECK(kernels::simd_active_target() == supported.front());
}

TEST_CASE("forcing a target: each runnable one, then back to auto; bad names are refused") {
  for (const auto& t : kernels::simd_supported_targets()) {
    kernels::simd_force_target(t);
    CHECK(kernels::simd_active_target() == t);
  }
  kernels::simd_force_target("SCALAR");  // case does not matter
  CHECK(kernels::simd_active_target() == "scalar");
  kernels::simd_force_target("");
  CHECK(kernels::simd_active_target() == kernels::simd_supported_targets().front());
  try {
    kernels::simd_force_target("avx9000");
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("'avx9000'") != std::string::npos);
    CHECK(m.find("scalar") != std::string::npos);  // lists the choices
  }
}
