// `hmoe version` (also `hmoe --version`): what this build is and what it runs on.
// The SIMD targets compiled in and oneDNN's version are internals: see tools/cli/internal.h.
#include <cstdio>
#include <string>
#include <vector>

#include "quant/tool_version.h"
#include "runtime/kernels/onednn_linear.h"
#include "runtime/kernels/simd_target.h"
#include "runtime/kernels/threads.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/internal.h"
#include "tools/cli/output.h"

namespace hmoe::cli {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
  return s;
}

int run_version(const std::vector<std::string>& args) {
  return guarded_internal("version", [&] {
    ArgParser p("version", "",
                "Prints the version, the SIMD target the kernels run (force one with\n"
                "HMOE_SIMD_TARGET=avx3|avx2|sse4|scalar|...), the oneDNN build and the default thread count.");
    if (!p.parse(args)) return kExitOk;
    // First, so that a bad HMOE_SIMD_TARGET fails before anything is printed.
    const std::string active = kernels::simd_active_target();
    out("hmoe %s\n", quant::tool_version());
    out("SIMD target:    %s\n", active.c_str());
    out("  compiled:     %s\n", join(kernels::simd_compiled_targets()).c_str());
    out("  this CPU:     %s\n", join(kernels::simd_supported_targets()).c_str());
    out("oneDNN:         %s\n", kernels::onednn_version().c_str());
    out("threads:        %d by default (OMP_NUM_THREADS or the processors, at most the processors)\n",
                kernels::default_threads());
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("version", "print the version, SIMD target, oneDNN and thread count", run_version);

}  // namespace hmoe::cli
