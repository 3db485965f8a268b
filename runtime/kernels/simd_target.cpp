#include "runtime/kernels/simd_target.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "hwy/targets.h"
#include "runtime/kernels/linear_simd.h"

namespace hmoe::kernels {

namespace {

std::string lower_name(int64_t bit) {
  std::string s = hwy::TargetName(bit);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// What the CPU supports, read before any forcing (forcing changes SupportedTargets()).
int64_t cpu_targets() {
  static const int64_t bits = [] {
    const int64_t b = hwy::SupportedTargets();
    // Highway 1.0.3's SupportedTargets() sets the dispatch mask itself before it adds
    // SVE_256 / SVE2_128 (those depend on the vector length, which it measures through a
    // dispatched call), and returns the full set without storing it. Called from here,
    // before the first HWY_DYNAMIC_DISPATCH, it would leave dispatch with the partial
    // mask: an SVE2 CPU with 128-bit vectors would run sve2, not sve2_128.
    hwy::GetChosenTarget().Update(b);
    return b;
  }();
  return bits;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::once_flag g_env_once;
std::string g_env_error;  // set when HMOE_SIMD_TARGET was bad

}  // namespace

std::vector<std::string> simd_compiled_targets() {
  std::vector<std::string> out;
  for (int64_t bit : simd_compiled_target_bits()) out.push_back(lower_name(bit));
  return out;
}

std::vector<std::string> simd_supported_targets() {
  std::vector<std::string> out;
  const int64_t cpu = cpu_targets();
  for (int64_t bit : simd_compiled_target_bits())
    if (cpu & bit) out.push_back(lower_name(bit));
  return out;
}

std::string simd_active_target() {
  simd_apply_env_once();
  return lower_name(simd_dispatched_target_bit());
}

void simd_force_target(const std::string& name_in) {
  const int64_t cpu = cpu_targets();  // latch the CPU's set before changing it
  std::string name = name_in;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.empty() || name == "auto") {
    hwy::SetSupportedTargetsForTest(0);
    return;
  }
  for (int64_t bit : simd_compiled_target_bits()) {
    if (lower_name(bit) != name) continue;
    if (!(cpu & bit))
      throw std::invalid_argument("SIMD target '" + name_in + "' is compiled in but this CPU cannot run it (it runs: " +
                                  join(simd_supported_targets()) + ")");
    hwy::SetSupportedTargetsForTest(bit);
    return;
  }
  throw std::invalid_argument("unknown SIMD target '" + name_in + "' (compiled: " + join(simd_compiled_targets()) +
                              "; or auto)");
}

void simd_apply_env_once() {
  std::call_once(g_env_once, [] {
    cpu_targets();
    const char* env = std::getenv("HMOE_SIMD_TARGET");
    if (!env) return;
    try {
      simd_force_target(env);
    } catch (const std::invalid_argument& e) {
      g_env_error = std::string("HMOE_SIMD_TARGET: ") + e.what();
    }
  });
  if (!g_env_error.empty()) throw std::invalid_argument(g_env_error);
}

}  // namespace hmoe::kernels
