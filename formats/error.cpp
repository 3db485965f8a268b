#include "formats/error.h"

namespace hmoe {

const char* status_text(Status s) {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::InvalidArgument: return "invalid argument";
    case Status::Io: return "i/o error";
    case Status::BadFile: return "bad model file";
    case Status::OutOfMemory: return "out of memory";
    case Status::ContextFull: return "context full";
    case Status::BufferTooSmall: return "buffer too small";
    case Status::Unsupported: return "unsupported";
    case Status::Internal: return "internal error";
  }
  return "unknown status";
}

}  // namespace hmoe
