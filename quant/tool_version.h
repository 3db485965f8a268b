// The project's version, as the build defines it (CMake's PROJECT_VERSION). The model
// quantizer records it in the files it writes; `hmoe version` prints it.
#pragma once

namespace hmoe::quant {

const char* tool_version();

}  // namespace hmoe::quant
