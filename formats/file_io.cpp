#include "formats/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "formats/error.h"

namespace hmoe {

const char* file_type_name(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
  }
  return "not a file";
}

namespace {

[[noreturn]] void not_regular(const std::string& path, const std::string& role, unsigned mode) {
  throw IoError(role + " '" + path + "' is not a regular file (it is " + file_type_name(mode) + ")");
}

[[noreturn]] void cannot_open(const std::string& path, const std::string& role, int err) {
  throw IoError("cannot open " + role + " '" + path + "': " + std::strerror(err));
}

}  // namespace

ReadableFile::ReadableFile(const std::string& path, const std::string& role) {
  if (path.empty()) throw IoError("the " + role + " name is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) cannot_open(path, role, errno);
  if (!S_ISREG(st.st_mode)) not_regular(path, role, st.st_mode);
  // O_NONBLOCK: should the path have become a FIFO since stat(), open() must not wait.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) cannot_open(path, role, errno);
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    cannot_open(path, role, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    not_regular(path, role, st.st_mode);
  }
  // Reads of a regular file never block; clearing the flag keeps them ordinary anyway.
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  size_ = static_cast<uint64_t>(st.st_size);
}

ReadableFile::~ReadableFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string byte_limit_text(uint64_t bytes) {
  if (bytes > 0 && bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

namespace {

[[noreturn]] void too_large(const std::string& what, uint64_t limit) {
  throw IoError(what + " is larger than the " + byte_limit_text(limit) + " limit for text inputs");
}

// Reads `fd` to its end into `out`, at most `limit` bytes; false when there was more.
bool read_all(int fd, const std::string& name, uint64_t limit, std::string* out) {
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read " + name + ": " + std::strerror(errno));
    }
    if (out->size() + static_cast<uint64_t>(n) > limit) return false;
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

std::string read_regular_file(const std::string& path, const std::string& role, uint64_t limit) {
  const ReadableFile f(path, role);
  const std::string what = role + " '" + path + "'";
  if (f.size() > limit) too_large(what, limit);
  std::string text;
  text.reserve(static_cast<size_t>(f.size()));
  if (!read_all(f.fd(), what, limit, &text)) too_large(what, limit);  // it grew while read
  return text;
}

std::string read_stream(int fd, const std::string& name, uint64_t limit) {
  std::string text;
  if (!read_all(fd, name, limit, &text)) too_large(name, limit);
  return text;
}

}  // namespace hmoe
