#include "runtime/text/unicode.h"

#include <algorithm>
#include <array>
#include <vector>

namespace hmoe::text {

namespace {

struct UnicodeRange {
  uint32_t first, last;
  CharClass cls;
};

#include "runtime/text/unicode_tables.inc"

// Classes of the Basic Multilingual Plane, one byte each (64 KiB), built once from the
// ranges: nearly all text lives there, and a table load beats a binary search.
const std::vector<CharClass>& bmp_classes() {
  static const std::vector<CharClass> table = [] {
    std::vector<CharClass> t(0x10000, CharClass::kOther);
    for (const UnicodeRange& r : kUnicodeRanges) {
      if (r.first > 0xFFFF) break;
      const uint32_t last = std::min<uint32_t>(r.last, 0xFFFF);
      std::fill(t.begin() + r.first, t.begin() + last + 1, r.cls);
    }
    return t;
  }();
  return table;
}

CharClass search_ranges(uint32_t cp) {
  const UnicodeRange* begin = std::begin(kUnicodeRanges);
  const UnicodeRange* end = std::end(kUnicodeRanges);
  const UnicodeRange* it =
      std::upper_bound(begin, end, cp, [](uint32_t v, const UnicodeRange& r) { return v < r.first; });
  if (it == begin) return CharClass::kOther;
  --it;
  return cp <= it->last ? it->cls : CharClass::kOther;
}

}  // namespace

CharClass char_class(uint32_t cp) {
  static const std::vector<CharClass>& bmp = bmp_classes();
  return cp < 0x10000 ? bmp[cp] : search_ranges(cp);
}

const char* unicode_tables_version() { return kUnicodeTablesVersion; }

size_t find_invalid_utf8(std::string_view text) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  const auto* p = begin;
  while (p < end) {
    // Skip ASCII eight bytes at a time: most input is mostly ASCII.
    while (end - p >= 8) {
      uint64_t w;
      std::copy(p, p + 8, reinterpret_cast<unsigned char*>(&w));
      if (w & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p >= end) break;
    const Utf8Char c = decode_utf8(p, end);
    if (!c.valid) return static_cast<size_t>(p - begin);
    p += c.length;
  }
  return std::string_view::npos;
}

void append_utf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace hmoe::text
