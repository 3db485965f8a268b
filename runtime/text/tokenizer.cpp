#include "runtime/text/tokenizer.h"

#include <cstdio>

#include "runtime/text/unicode.h"

namespace hmoe::text {

void require_utf8(std::string_view text) {
  const size_t bad = find_invalid_utf8(text);
  if (bad == std::string_view::npos) return;
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "input is not valid UTF-8: byte 0x%02X at offset %zu does not start a valid character",
                static_cast<unsigned char>(text[bad]), bad);
  throw TokenizerError(buf, Status::InvalidArgument);
}

}  // namespace hmoe::text
