// The text inputs of the commands: `-f FILE` (or `-f -`, standard input) and the lines
// of `hmoe run -i`. One reader for all, so every command refuses the same things with
// the same words (tests/BAD_INPUTS.md, rows I01 and I02):
// - a path that is not a regular file (a FIFO, a device such as /dev/zero, a directory,
//   a socket), without opening it for reading;
// - more than the limit of 64 MiB, checked as the bytes arrive (standard input and
//   files that grow included).
// Failures throw hypermoe::Error (HMOE_ERR_IO), exit code 1.
#pragma once
#include <cstdint>
#include <string>

namespace hmoe::cli {

// The limit on one text input, in bytes.
uint64_t max_input_bytes();

// The whole input: standard input for "-", else the regular file at `path`.
std::string read_input(const std::string& path);

// Reads standard input line by line for an interactive session.
class LineReader {
 public:
  enum class Result { Line, End, Interrupted };
  // The next line with its '\n' (the last one may lack it) into *line. End: nothing
  // more to read. Interrupted: a signal (Ctrl-C) arrived while waiting. A line longer
  // than max_input_bytes() throws.
  Result next(std::string* line);

 private:
  std::string pending_;
  size_t scanned_ = 0;  // pending_[0, scanned_) holds no newline
  bool eof_ = false;
};

}  // namespace hmoe::cli
