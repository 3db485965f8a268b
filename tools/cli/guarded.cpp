// guarded() and threads_or_default() (declared in args.h), apart from the parser so the
// parser alone compiles into the fuzz target (tests/fuzz/fuzz_cli_args.cpp).
#include <cstdio>
#include <new>

#include "runtime/api/hypermoe.hpp"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/output.h"

namespace hmoe::cli {

int threads_or_default(int n) { return n > 0 ? n : hmoe_session_default_params().n_threads; }

int guarded(const std::string& command, const std::function<int()>& body) {
  auto fail = [&](int code, const std::string& message) {
    std::fflush(stdout);
    std::fprintf(stderr, code == kExitUsage ? "hmoe %s: %s\n" : "hmoe %s: error: %s\n", command.c_str(),
                 message.c_str());
    return code;
  };
  int code = kExitOk;
  try {
    code = body();
  } catch (const UsageError& e) {
    return fail(kExitUsage, e.what());
  } catch (const hypermoe::Error& e) {
    return fail(exit_code_for(e.status()), e.reason());
  } catch (const std::bad_alloc&) {
    return fail(kExitError, "out of memory");
  } catch (const std::exception& e) {
    return fail(kExitError, e.what());
  }
  // Output lost to a full disk or a closed pipe must not look like success.
  const std::string lost = stdout_error();
  if (!lost.empty()) return fail(kExitError, lost);
  return code;
}

}  // namespace hmoe::cli
