// Reading the files a user names (models, prompts, texts) without surprises.
//
// Only regular files are read. A FIFO would block open() until a writer appears, a
// device such as /dev/zero or /dev/urandom never ends, a directory or a socket cannot
// be read as one: each is refused by its type, found with stat() before anything opens
// it for reading, so refusing never blocks. The file is then opened with O_NONBLOCK and
// checked again with fstat(), so a path swapped between the two calls is refused too.
//
// Text is read with a size limit, checked as it is read (a file that grows while it is
// read, or a stream such as standard input, cannot exceed it either).
//
// Every failure is an IoError ("cannot open ... : <strerror>", "... is not a regular
// file (it is a FIFO)", "... is larger than ...") naming the path and its role.
#pragma once
#include <cstdint>
#include <string>

namespace hmoe {

// "a FIFO", "a directory", "a character device", ... for a stat() st_mode.
const char* file_type_name(unsigned mode);

// An open regular file: its descriptor (closed by the destructor) and size in bytes.
class ReadableFile {
 public:
  // `role` names the file in messages: "model file", "input file". Throws IoError.
  ReadableFile(const std::string& path, const std::string& role);
  ~ReadableFile();
  ReadableFile(const ReadableFile&) = delete;
  ReadableFile& operator=(const ReadableFile&) = delete;
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
};

// The bytes a text input may hold: prompts, texts to tokenize or score, lines of an
// interactive session. 64 MiB is 16 million GPT-2 tokens, far beyond any context, and
// bounds what a mistaken `-f /dev/zero`-like input can cost.
constexpr uint64_t kMaxTextInputBytes = 64ull << 20;

// The whole of a regular file, refusing one of more than `limit` bytes (IoError:
// "<role> 'PATH' is larger than the 64 MiB limit for text inputs").
std::string read_regular_file(const std::string& path, const std::string& role,
                              uint64_t limit = kMaxTextInputBytes);

// Everything readable from `fd` until end of file, refusing more than `limit` bytes
// (IoError naming `name`, e.g. "standard input"). Retries interrupted reads.
std::string read_stream(int fd, const std::string& name, uint64_t limit = kMaxTextInputBytes);

// "64 MiB" for a byte count that is a whole number of MiB (else "N bytes").
std::string byte_limit_text(uint64_t bytes);

}  // namespace hmoe
