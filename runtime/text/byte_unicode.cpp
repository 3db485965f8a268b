#include "runtime/text/byte_unicode.h"

#include <array>

#include "runtime/text/unicode.h"

namespace hmoe::text {

namespace {

struct ByteMap {
  std::array<uint32_t, 256> to_unicode{};
  std::array<int16_t, 0x144> to_byte{};  // every mapped code point is below U+0144

  ByteMap() {
    to_byte.fill(-1);
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : next++;
      to_unicode[b] = cp;
      to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

}  // namespace

uint32_t byte_to_unicode(uint8_t byte) { return byte_map().to_unicode[byte]; }

int unicode_to_byte(uint32_t cp) {
  const ByteMap& m = byte_map();
  return cp < m.to_byte.size() ? m.to_byte[cp] : -1;
}

std::string bytes_to_piece(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) append_utf8(byte_to_unicode(b), &out);
  return out;
}

bool piece_to_bytes(std::string_view piece, std::string* out) {
  out->clear();
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  const auto* end = p + piece.size();
  while (p < end) {
    const Utf8Char c = decode_utf8(p, end);
    const int b = c.valid ? unicode_to_byte(c.code_point) : -1;
    if (b < 0) return false;
    out->push_back(static_cast<char>(b));
    p += c.length;
  }
  return true;
}

}  // namespace hmoe::text
