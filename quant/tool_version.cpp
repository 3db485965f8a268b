#include "quant/tool_version.h"

#ifndef HMOE_VERSION_STRING
#error "quant/CMakeLists.txt defines HMOE_VERSION_STRING (the project's version)"
#endif

namespace hmoe::quant {

const char* tool_version() { return HMOE_VERSION_STRING; }

}  // namespace hmoe::quant
