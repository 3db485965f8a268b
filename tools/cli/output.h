// Standard output is where the commands put their results, so output lost to a full
// disk or a closed pipe must fail the command (exit 1 with the reason), never pass as
// success. Commands print through these functions, which keep the reason of the first
// failed write; guarded() (args.h) checks stdout when a command ends.
#pragma once
#include <cstddef>
#include <string>

namespace hmoe::cli {

// printf to stdout (buffered).
void out(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Writes n bytes to stdout and flushes (for output streamed as it is produced); false
// when they could not all be written.
bool write_stdout(const void* data, size_t n);

// Flushes stdout; "" when everything written to it so far arrived, else
// "cannot write to standard output: <reason>".
std::string stdout_error();

}  // namespace hmoe::cli
