// How the C API reports failure: every entry point runs its body inside guarded(),
// which turns any exception into a status code and a thread-local message, so no
// exception crosses the C boundary.
#pragma once
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "formats/error.h"
#include "runtime/api/hypermoe.h"

namespace hmoe::api {

// An error the API finds itself (a NULL handle, a field out of range): the core's
// hmoe::Error with the C status (formats/error.h numbers the two alike).
class ApiError : public Error {
 public:
  ApiError(hmoe_status status, const std::string& message) : Error(static_cast<Status>(status), message) {}
};

// Clears this thread's message.
void clear_last_error() noexcept;
// This thread's message ("" after success).
const char* last_error() noexcept;
// Classifies the exception being handled, records "<function>: <message>" and returns
// its status: the one table from exceptions to hmoe_status (api_error.cpp). Call only
// inside a catch block.
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

// --- reading a C caller's params structs --------------------------------------------
// C lets a caller store any int in an enum-typed field, and a struct filled by memset,
// by a binding in another language or from a file may hold any byte in a bool. C++ may
// read neither as its type: an enum object outside its enumerators' range or a bool
// that is not 0 or 1 is undefined behaviour the moment it is read (a switch over it may
// jump anywhere; UBSan reports "not a valid value for type"). So params are copied as
// bytes, and such fields are read as the integers they are and checked before anything
// treats them as the enum or the bool.

// *out = *params (or defaults() when params is NULL), copied as bytes.
template <class T>
void read_params(const T* params, T (*defaults)(), T* out) {
  static_assert(std::is_trivially_copyable_v<T>, "params structs are plain C structs");
  if (params) {
    std::memcpy(out, params, sizeof(T));
  } else {
    *out = defaults();
  }
}

// The int an enum-typed field holds, whatever it is.
template <class Enum>
int enum_field(const Enum& field) {
  static_assert(std::is_enum_v<Enum> && sizeof(Enum) == sizeof(int), "C enums are int-sized");
  int v;
  std::memcpy(&v, &field, sizeof v);
  return v;
}

// A bool field's value; throws ApiError(HMOE_ERR_INVALID_ARGUMENT) naming `name` when
// its byte is neither 0 nor 1.
inline bool bool_field(const bool& field, const char* name) {
  static_assert(sizeof(bool) == 1, "C's _Bool and C++'s bool are one byte");
  unsigned char byte;
  std::memcpy(&byte, &field, 1);
  if (byte > 1)
    throw ApiError(HMOE_ERR_INVALID_ARGUMENT, std::string(name) + " holds byte " + std::to_string(byte) +
                                                  ", not a bool (0 or 1): was the struct filled byte by byte?");
  return byte == 1;
}

}  // namespace hmoe::api
