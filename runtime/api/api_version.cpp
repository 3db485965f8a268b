// Which build of the library is running, and on which SIMD target.
#include <mutex>
#include <set>
#include <string>

#include "runtime/api/hypermoe.h"
#include "runtime/kernels/simd_target.h"

#ifndef HMOE_VERSION_STRING
#error "the build defines HMOE_VERSION_STRING (the project's version)"
#endif

extern "C" {

const char* hmoe_version(void) { return HMOE_VERSION_STRING; }

const char* hmoe_simd_target(void) {
  // Names are interned so the pointer stays valid for the life of the process, even if
  // the kernels switch targets later (HMOE_SIMD_TARGET is applied on first use).
  static std::mutex mu;
  static std::set<std::string> names;
  try {
    const std::string name = hmoe::kernels::simd_active_target();
    std::lock_guard<std::mutex> lock(mu);
    return names.insert(name).first->c_str();
  } catch (...) {  // a bad HMOE_SIMD_TARGET: the kernels' own calls report it
    return "unknown";
  }
}

}  // extern "C"
