// Listing and forcing the Highway target.
#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "runtime/kernels/simd_target.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

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

namespace {

bool has(const std::vector<std::string>& v, const char* name) {
  return std::find(v.begin(), v.end(), name) != v.end();
}

}  // namespace

// The build compiles every target Highway can dispatch to on the architecture
// (HWY_COMPILE_ALL_ATTAINABLE, runtime/CMakeLists.txt), not only those above the
// compiler's baseline, and lists them best first.
TEST_CASE("every attainable target of the architecture is compiled, best first") {
  const auto compiled = kernels::simd_compiled_targets();
  INFO("compiled: ", compiled.size());
#if defined(__x86_64__)
  for (const char* t : {"avx3_dl", "avx3", "avx2", "sse4", "ssse3", "scalar"}) CHECK_MESSAGE(has(compiled, t), t);
  CHECK(compiled.front() == "avx3_dl");
#elif defined(__aarch64__)
  for (const char* t : {"sve2_128", "sve_256", "sve2", "sve", "neon", "scalar"}) CHECK_MESSAGE(has(compiled, t), t);
  CHECK(compiled.front() == "sve2_128");
#endif
  CHECK(compiled.back() == "scalar");
}

#if defined(__aarch64__) && defined(__linux__)
// Against what the kernel says this CPU has (under qemu-user: what its -cpu model has).
TEST_CASE("an SVE CPU runs an SVE target, any other NEON") {
  const auto supported = kernels::simd_supported_targets();
  kernels::simd_force_target("auto");
  const std::string active = kernels::simd_active_target();
  // asm/hwcap.h: HWCAP_SVE; HWCAP2_SVE2 and HWCAP2_SVEAES (Highway's SVE2 target needs both).
  constexpr unsigned long kSve = 1ul << 22, kSve2 = 1ul << 1, kSveAes = 1ul << 2;
  const bool sve = getauxval(AT_HWCAP) & kSve;
  const bool sve2 = (getauxval(AT_HWCAP2) & (kSve2 | kSveAes)) == (kSve2 | kSveAes);
  INFO("active: ", active, ", SVE ", sve, ", SVE2 ", sve2);
  if (sve) {
    CHECK(has(supported, "sve"));
    CHECK(active.rfind("sve", 0) == 0);
  } else {
    CHECK(active == "neon");
  }
  if (sve2) CHECK((active.rfind("sve2", 0) == 0 || active == "sve_256"));
}
#endif
