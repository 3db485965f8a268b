// Writing a file so that it appears whole under its name or not at all: every writer of
// the project (model files, baked and quantized models, synthetic models, .npy logits)
// goes through this class.
//
// - The destination is checked when the object is made, before the caller does any
//   work: an existing directory, or anything existing that is not a regular file (a
//   device such as /dev/full, a FIFO), is refused; so is a place where no file can be
//   created (a missing or read-only directory), found by creating the temporary file.
// - The data goes to a temporary file in the destination's directory (so the final
//   rename stays on one file system), named ".NAME.tmp.PID.N".
// - commit() flushes, closes and renames it over the destination. Until then, and on
//   every failure, the destructor removes it: nothing is left behind.
// - Every error is an IoError naming the path and carrying strerror (a full disk says
//   "No space left on device").
// The guarantee is against failures of this process (an error, an exception, a kill
// between writes leaves only the hidden temporary file); it does not fsync, so it
// promises nothing about a power loss.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hmoe {

class AtomicFile {
 public:
  // Throws IoError as described above.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Refuses a destination that is a directory or exists but is not a regular file,
  // without creating anything (the constructor does this first).
  static void check_destination(const std::string& path);

  // Appends bytes (buffered).
  void write(const void* data, size_t n);
  // Writes at an absolute offset of the file, after flushing the buffer; the file
  // grows as needed. For writers that lay out a file first and fill it in after.
  void pwrite(const void* data, size_t n, uint64_t offset);
  // Bytes appended so far (the file's size unless pwrite() wrote past it).
  uint64_t size() const { return appended_; }

  const std::string& path() const { return path_; }
  // The temporary file, readable by path until commit() or destruction.
  const std::string& temp_path() const { return temp_; }

  // Writes the buffer out, so temp_path() holds everything written so far.
  void flush();

  // Makes the file appear under path(). Throws IoError (the temporary file is removed).
  void commit();
  bool committed() const { return committed_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err);

  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
  uint64_t appended_ = 0;
  std::vector<char> buf_;
};

}  // namespace hmoe
