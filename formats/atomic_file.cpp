#include "formats/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "formats/error.h"
#include "formats/file_io.h"

namespace hmoe {

namespace {

constexpr size_t kBufferBytes = 1 << 20;

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void AtomicFile::check_destination(const std::string& path) {
  if (path.empty()) throw IoError("the output file name is empty");
  if (path.back() == '/') throw IoError("cannot write '" + path + "': it names a directory");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw IoError("cannot write '" + path + "': it is a directory");
    if (!S_ISREG(st.st_mode))
      throw IoError("cannot write '" + path + "': it exists and is not a regular file (it is " +
                    file_type_name(st.st_mode) + "), which a new file would replace");
  }
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  check_destination(path_);
  static std::atomic<uint64_t> counter{0};
  const std::string dir = directory_of(path_);
  const std::string stem = dir + "/." + base_name(path_) + ".tmp." + std::to_string(::getpid()) + ".";
  for (int attempt = 0;; ++attempt) {
    temp_ = stem + std::to_string(counter.fetch_add(1));
    // 0666 and the umask: the permissions the file would have had if written directly.
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) break;
    if (errno == EEXIST && attempt < 100) continue;
    const int err = errno;
    temp_.clear();
    throw IoError("cannot write '" + path_ + "': cannot create a file in '" + dir + "': " + std::strerror(err));
  }
  buf_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::fail(const std::string& what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
  buf_.clear();
  throw IoError(what + " '" + path_ + "' failed: " + std::strerror(err));
}

namespace {
// Writes all n bytes at `offset` (or at the file position when offset < 0); returns 0 or errno.
int write_all(int fd, const char* p, size_t n, int64_t offset) {
  while (n > 0) {
    const ssize_t w = offset < 0 ? ::write(fd, p, n) : ::pwrite(fd, p, n, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return ENOSPC;
    p += w;
    n -= static_cast<size_t>(w);
    if (offset >= 0) offset += w;
  }
  return 0;
}
}  // namespace

void AtomicFile::flush() {
  if (fd_ < 0) throw IoError("write to '" + path_ + "' after it failed or was committed");
  if (buf_.empty()) return;
  const int err = write_all(fd_, buf_.data(), buf_.size(), -1);
  buf_.clear();
  if (err) fail("writing", err);
}

void AtomicFile::write(const void* data, size_t n) {
  if (fd_ < 0) throw IoError("write to '" + path_ + "' after it failed or was committed");
  const char* p = static_cast<const char*>(data);
  appended_ += n;
  if (buf_.size() + n <= kBufferBytes) {
    buf_.insert(buf_.end(), p, p + n);
    return;
  }
  flush();
  if (n < kBufferBytes) {
    buf_.insert(buf_.end(), p, p + n);
    return;
  }
  const int err = write_all(fd_, p, n, -1);
  if (err) fail("writing", err);
}

void AtomicFile::pwrite(const void* data, size_t n, uint64_t offset) {
  flush();
  const int err = write_all(fd_, static_cast<const char*>(data), n, static_cast<int64_t>(offset));
  if (err) fail("writing", err);
}

void AtomicFile::commit() {
  flush();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    fd_ = -1;
    fail("writing", err);
  }
  // The destination may have changed since the constructor checked it.
  try {
    check_destination(path_);
  } catch (...) {
    ::unlink(temp_.c_str());
    temp_.clear();
    throw;
  }
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) fail("renaming the finished file to", errno);
  committed_ = true;
}

}  // namespace hmoe
