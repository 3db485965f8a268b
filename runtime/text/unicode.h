// UTF-8 decoding and the Unicode character classes GPT-2's pre-tokenizer needs.
// The class tables are generated (tools/gen_unicode_tables.py) from Python's
// unicodedata; unicode_tables_version() names the Unicode version they follow.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hmoe::text {

// \p{L}, \p{N}, \s (the White_Space property) or none of them. Disjoint.
enum class CharClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

CharClass char_class(uint32_t code_point);
const char* unicode_tables_version();

// One decoded character. An invalid sequence (stray continuation byte, overlong form,
// surrogate, value past U+10FFFF, or a sequence cut short) decodes as its first byte
// alone with valid = false, so a caller can always advance by `length`.
struct Utf8Char {
  uint32_t code_point;
  uint32_t length;  // bytes, 1..4
  bool valid;
};

// Requires begin < end.
inline Utf8Char decode_utf8(const unsigned char* begin, const unsigned char* end);

// Byte offset of the first invalid UTF-8 sequence, or std::string_view::npos.
size_t find_invalid_utf8(std::string_view text);

// Appends the UTF-8 form of a scalar value (must not be a surrogate or past U+10FFFF).
void append_utf8(uint32_t code_point, std::string* out);

// ---- implementation ----

inline Utf8Char decode_utf8(const unsigned char* p, const unsigned char* end) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) return {b0, 1, true};
  const Utf8Char bad{b0, 1, false};
  const size_t avail = static_cast<size_t>(end - p);
  auto cont = [&](size_t i) { return i < avail && (p[i] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return bad;
    return {(uint32_t(b0 & 0x1F) << 6) | (p[1] & 0x3F), 2, true};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return bad;
    const uint32_t cp = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return bad;  // overlong or surrogate
    return {cp, 3, true};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return bad;
    const uint32_t cp = (uint32_t(b0 & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) |
                        (uint32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return bad;
    return {cp, 4, true};
  }
  return bad;  // continuation byte, C0/C1 (always overlong) or F5..FF
}

}  // namespace hmoe::text
