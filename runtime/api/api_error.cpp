#include "runtime/api/api_error.h"

#include <new>
#include <string>

#include "formats/error.h"

namespace hmoe::api {
namespace {

// The core's Status values are the C API's hmoe_status values (formats/error.h).
static_assert(static_cast<int>(Status::InvalidArgument) == HMOE_ERR_INVALID_ARGUMENT &&
                  static_cast<int>(Status::Io) == HMOE_ERR_IO && static_cast<int>(Status::BadFile) == HMOE_ERR_BAD_FILE &&
                  static_cast<int>(Status::OutOfMemory) == HMOE_ERR_OUT_OF_MEMORY &&
                  static_cast<int>(Status::ContextFull) == HMOE_ERR_CONTEXT_FULL &&
                  static_cast<int>(Status::BufferTooSmall) == HMOE_ERR_BUFFER_TOO_SMALL &&
                  static_cast<int>(Status::Unsupported) == HMOE_ERR_UNSUPPORTED &&
                  static_cast<int>(Status::Internal) == HMOE_ERR_INTERNAL,
              "formats/error.h Status and hypermoe.h hmoe_status must agree");

// One message per thread, so concurrent sessions never read each other's errors.
thread_local std::string t_last_error;
// Used instead when there was no memory to build the message.
thread_local const char* t_static_error = nullptr;

hmoe_status record(hmoe_status status, const char* function, const char* message) noexcept {
  t_static_error = nullptr;
  try {
    t_last_error.assign(function);
    t_last_error.append(": ");
    t_last_error.append(message);
  } catch (...) {
    t_static_error = "out of memory while describing an error";
  }
  return status;
}

}  // namespace

void clear_last_error() noexcept {
  t_last_error.clear();
  t_static_error = nullptr;
}

const char* last_error() noexcept { return t_static_error ? t_static_error : t_last_error.c_str(); }

hmoe_status status_from_current_exception(const char* function) noexcept {
  // The one table. Errors of the core and of the API carry their category from where
  // they were found; the standard exceptions below are what code not yet converted to
  // hmoe::Error (and the standard library) throws.
  try {
    throw;
  } catch (const Error& e) {
    const Status s = e.status();
    const bool known = s != Status::Ok && static_cast<int>(s) >= 0 && static_cast<int>(s) <= HMOE_ERR_INTERNAL;
    return record(known ? static_cast<hmoe_status>(s) : HMOE_ERR_INTERNAL, function, e.what());
  } catch (const std::invalid_argument& e) {
    return record(HMOE_ERR_INVALID_ARGUMENT, function, e.what());
  } catch (const std::out_of_range& e) {
    return record(HMOE_ERR_INVALID_ARGUMENT, function, e.what());
  } catch (const std::bad_alloc&) {
    return record(HMOE_ERR_OUT_OF_MEMORY, function, "out of memory");
  } catch (const std::length_error& e) {
    return record(HMOE_ERR_OUT_OF_MEMORY, function, e.what());
  } catch (const std::exception& e) {
    return record(HMOE_ERR_INTERNAL, function, e.what());
  } catch (...) {
    return record(HMOE_ERR_INTERNAL, function, "unknown exception");
  }
}

}  // namespace hmoe::api

extern "C" {

const char* hmoe_status_name(hmoe_status status) {
  // Any int may arrive (the header promises a name for "other values"): read it as one.
  switch (hmoe::api::enum_field(status)) {
    case HMOE_OK: return "HMOE_OK";
    case HMOE_ERR_INVALID_ARGUMENT: return "HMOE_ERR_INVALID_ARGUMENT";
    case HMOE_ERR_IO: return "HMOE_ERR_IO";
    case HMOE_ERR_BAD_FILE: return "HMOE_ERR_BAD_FILE";
    case HMOE_ERR_OUT_OF_MEMORY: return "HMOE_ERR_OUT_OF_MEMORY";
    case HMOE_ERR_CONTEXT_FULL: return "HMOE_ERR_CONTEXT_FULL";
    case HMOE_ERR_BUFFER_TOO_SMALL: return "HMOE_ERR_BUFFER_TOO_SMALL";
    case HMOE_ERR_UNSUPPORTED: return "HMOE_ERR_UNSUPPORTED";
    case HMOE_ERR_INTERNAL: return "HMOE_ERR_INTERNAL";
  }
  return "unknown status";
}

const char* hmoe_last_error(void) { return hmoe::api::last_error(); }

}  // extern "C"
