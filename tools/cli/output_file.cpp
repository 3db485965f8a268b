// Uses formats/atomic_file.h (see tools/cli/internal.h): outputs are written exactly as
// model files are.
#include "tools/cli/output_file.h"

#include "formats/atomic_file.h"
#include "formats/error.h"
#include "runtime/api/hypermoe.hpp"
#include "tools/cli/internal.h"

namespace hmoe::cli {

namespace {
template <class F>
void as_api_error(F f) {
  try {
    f();
  } catch (const hmoe::Error& e) {
    throw hypermoe::Error(static_cast<hmoe_status>(e.status()), e.what());
  }
}
}  // namespace

OutputFile::OutputFile(const std::string& path) {
  as_api_error([&] { file_ = std::make_unique<AtomicFile>(path); });
}
OutputFile::~OutputFile() = default;
void OutputFile::write(const void* data, size_t n) {
  as_api_error([&] { file_->write(data, n); });
}
void OutputFile::commit() {
  as_api_error([&] { file_->commit(); });
}

}  // namespace hmoe::cli
