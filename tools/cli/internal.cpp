// Uses formats/error.h: see tools/cli/internal.h.
#include "tools/cli/internal.h"

#include "formats/error.h"
#include "runtime/api/hypermoe.hpp"
#include "tools/cli/args.h"

namespace hmoe::cli {

int guarded_internal(const std::string& command, const std::function<int()>& body) {
  return guarded(command, [&] {
    try {
      return body();
    } catch (const hmoe::Error& e) {
      throw hypermoe::Error(static_cast<hmoe_status>(e.status()), e.what());
    }
  });
}

}  // namespace hmoe::cli
