// The one error type of the core. Whatever layer finds a problem throws hmoe::Error
// carrying its category (Status), so the C API and the CLI map categories in one table
// each instead of guessing from exception types or message text.
#pragma once
#include <stdexcept>
#include <string>

namespace hmoe {

// The categories, numbered as the C API's hmoe_status (runtime/api/hypermoe.h) so the
// mapping is a cast; api_error.cpp checks that the two agree.
enum class Status : int {
  Ok = 0,
  InvalidArgument = 1,  // a caller's value out of range (thread count, token id, option)
  Io = 2,               // a file that cannot be opened, read or written
  BadFile = 3,          // a file that is readable but not a valid model (or whose weights misbehave)
  OutOfMemory = 4,
  ContextFull = 5,      // tokens that do not fit the session's context
  BufferTooSmall = 6,
  Unsupported = 7,      // a valid request this model cannot serve (text on a model without tokenizer)
  Internal = 8,
};

// A static name for a status ("bad file"), for messages.
const char* status_text(Status s);

class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  Status status() const { return status_; }

 private:
  Status status_;
};

// A model file that is not what it claims (Status::BadFile). Kept as its own type since
// tests and tools catch exactly this.
class FormatError : public Error {
 public:
  explicit FormatError(const std::string& message) : Error(Status::BadFile, message) {}
};

// A file that cannot be opened, read or written (Status::Io): the reason is the OS's.
class IoError : public Error {
 public:
  explicit IoError(const std::string& message) : Error(Status::Io, message) {}
};

}  // namespace hmoe
