// How the C API reports failure: every entry point runs its body inside guarded(),
// which turns any exception into a status code and a thread-local message, so no
// exception crosses the C boundary.
#pragma once
#include <stdexcept>
#include <string>

#include "runtime/api/hypermoe.h"

namespace hmoe::api {

// An error whose status the API chose itself (a NULL handle, a full context...).
class ApiError : public std::runtime_error {
 public:
  ApiError(hmoe_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  hmoe_status status() const { return status_; }

 private:
  hmoe_status status_;
};

// Clears this thread's message.
void clear_last_error() noexcept;
// This thread's message ("" after success).
const char* last_error() noexcept;
// Classifies the exception being handled, records "<function>: <message>" and returns
// its status. Call only inside a catch block.
hmoe_status status_from_current_exception(const char* function) noexcept;

template <class Body>
hmoe_status guarded(const char* function, Body&& body) noexcept {
  try {
    body();
    clear_last_error();
    return HMOE_OK;
  } catch (...) {
    return status_from_current_exception(function);
  }
}

// Throws ApiError(HMOE_ERR_INVALID_ARGUMENT) naming `what` when `p` is NULL.
template <class T>
T* require(T* p, const char* what) {
  if (p == nullptr) throw ApiError(HMOE_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  return p;
}

}  // namespace hmoe::api
