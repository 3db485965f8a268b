#include "tools/cli/default_model.h"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace hmoe::cli {

#if !defined(HMOE_SHIPPED_MODEL) || !defined(HMOE_MODELS_FROM_BIN)
#error "tools/CMakeLists.txt defines HMOE_SHIPPED_MODEL and HMOE_MODELS_FROM_BIN"
#endif

const char* const kShippedModelName = HMOE_SHIPPED_MODEL;

namespace {
std::string executable_dir() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return ".";
  std::string p(buf.data(), static_cast<size_t>(n));
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

bool readable(const std::string& p) { return access(p.c_str(), R_OK) == 0; }
}  // namespace

std::string find_default_model() {
  if (const char* env = std::getenv("HMOE_MODEL"); env && *env) return env;
  const std::string dir = executable_dir();
  const std::vector<std::string> candidates = {
      dir + "/" HMOE_MODELS_FROM_BIN "/" + kShippedModelName,  // as `cmake --install` lays it out
      dir + "/../../models/" + kShippedModelName,              // build/tools/hmoe in the source tree
  };
  std::string tried;
  for (const auto& c : candidates) {
    if (readable(c)) return c;
    tried += (tried.empty() ? " " : ", ") + c;
  }
  throw std::runtime_error("no -m given and the shipped model was not found; tried $HMOE_MODEL and:" + tried);
}

}  // namespace hmoe::cli
