#include "tools/cli/output.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

namespace hmoe::cli {

namespace {
int g_first_errno = 0;  // the reason of the first failed write, 0 when none

// Writes to stdout's buffer; records the reason when the stream fails.
bool put(const void* data, size_t n) {
  errno = 0;
  if (n && std::fwrite(data, 1, n, stdout) != n) {
    if (!g_first_errno) g_first_errno = errno ? errno : EIO;
    return false;
  }
  return true;
}

bool flush_stdout() {
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return true;
  if (!g_first_errno) g_first_errno = errno ? errno : EIO;
  return false;
}
}  // namespace

void out(const char* format, ...) {
  char small[512];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(small, sizeof small, format, args);
  va_end(args);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof small) {
    put(small, static_cast<size_t>(n));
    return;
  }
  std::vector<char> big(static_cast<size_t>(n) + 1);
  va_start(args, format);
  std::vsnprintf(big.data(), big.size(), format, args);
  va_end(args);
  put(big.data(), static_cast<size_t>(n));
}

bool write_stdout(const void* data, size_t n) { return put(data, n) && flush_stdout(); }

std::string stdout_error() {
  if (flush_stdout()) return "";
  return std::string("cannot write to standard output: ") + std::strerror(g_first_errno);
}

}  // namespace hmoe::cli
