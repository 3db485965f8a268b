// Uses formats/file_io.h (see tools/cli/internal.h): text inputs are opened exactly as
// model files are.
#include "tools/cli/inputs.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "formats/error.h"
#include "formats/file_io.h"
#include "runtime/api/hypermoe.hpp"
#include "tools/cli/internal.h"

namespace hmoe::cli {

uint64_t max_input_bytes() { return kMaxTextInputBytes; }

std::string read_input(const std::string& path) {
  try {
    if (path == "-") return read_stream(STDIN_FILENO, "standard input");
    return read_regular_file(path, "input file");
  } catch (const hmoe::Error& e) {
    throw hypermoe::Error(static_cast<hmoe_status>(e.status()), e.what());
  }
}

LineReader::Result LineReader::next(std::string* line) {
  for (;;) {
    const size_t nl = pending_.find('\n', scanned_);  // only bytes not searched before
    scanned_ = pending_.size();
    if (nl != std::string::npos || (eof_ && !pending_.empty())) {
      const size_t n = nl == std::string::npos ? pending_.size() : nl + 1;
      line->assign(pending_, 0, n);
      pending_.erase(0, n);
      scanned_ = 0;
      return Result::Line;
    }
    if (eof_) return Result::End;
    if (pending_.size() > kMaxTextInputBytes)
      throw hypermoe::Error(HMOE_ERR_IO, "a line of standard input is larger than the " +
                                             byte_limit_text(kMaxTextInputBytes) + " limit for text inputs");
    char buf[1 << 16];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) return Result::Interrupted;
      throw hypermoe::Error(HMOE_ERR_IO, std::string("cannot read standard input: ") + std::strerror(errno));
    }
    if (n == 0) eof_ = true;
    pending_.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace hmoe::cli
