#include "runtime/text/pretokenizer.h"

#include <array>

#include "runtime/text/unicode.h"

namespace hmoe::text {

namespace {

struct Char {
  CharClass cls;
  uint32_t length;
};

// Classes of ASCII, so the common case needs no decoding or table look-up.
constexpr std::array<CharClass, 128> kAsciiClass = [] {
  std::array<CharClass, 128> t{};
  for (int c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) t[c] = CharClass::kLetter;
    else if (c >= '0' && c <= '9') t[c] = CharClass::kNumber;
    else if (c == ' ' || (c >= '\t' && c <= '\r')) t[c] = CharClass::kSpace;
    else t[c] = CharClass::kOther;
  }
  return t;
}();

inline Char char_at(const unsigned char* p, const unsigned char* end) {
  if (*p < 0x80) return {kAsciiClass[*p], 1};
  const Utf8Char c = decode_utf8(p, end);
  return {c.valid ? char_class(c.code_point) : CharClass::kOther, c.length};
}

// End of the run of `cls` characters starting at p.
inline const unsigned char* run_end(const unsigned char* p, const unsigned char* end, CharClass cls) {
  while (p < end) {
    const Char c = char_at(p, end);
    if (c.cls != cls) break;
    p += c.length;
  }
  return p;
}

// Length of the contraction ('s 't 're 've 'm 'll 'd) at p, which holds an apostrophe, or 0.
inline size_t contraction_length(const unsigned char* p, const unsigned char* end) {
  const size_t avail = static_cast<size_t>(end - p);
  if (avail < 2) return 0;
  switch (p[1]) {
    case 's': case 't': case 'm': case 'd':
      return 2;
    case 'r':
      return avail >= 3 && p[2] == 'e' ? 3 : 0;
    case 'v':
      return avail >= 3 && p[2] == 'e' ? 3 : 0;
    case 'l':
      return avail >= 3 && p[2] == 'l' ? 3 : 0;
    default:
      return 0;
  }
}

}  // namespace

bool Gpt2PreTokenizer::next(std::string_view* piece) {
  if (pos_ >= text_.size()) return false;
  const auto* base = reinterpret_cast<const unsigned char*>(text_.data());
  const auto* end = base + text_.size();
  const auto* start = base + pos_;
  const unsigned char* stop = nullptr;

  if (*start == '\'') {
    if (size_t n = contraction_length(start, end)) stop = start + n;
  }
  if (!stop) {
    const Char first = char_at(start, end);
    if (first.cls != CharClass::kSpace) {
      // \p{L}+ | \p{N}+ | [^\s\p{L}\p{N}]+
      stop = run_end(start + first.length, end, first.cls);
    } else if (*start == ' ' && start + 1 < end && char_at(start + 1, end).cls != CharClass::kSpace) {
      // " ?X+": a single space joins the run that follows it.
      const Char second = char_at(start + 1, end);
      stop = run_end(start + 1 + second.length, end, second.cls);
    } else {
      // \s+(?!\S) takes the whole run at the end of the text, otherwise all of it but the
      // last character (which then leads the next piece); a lone whitespace character
      // before a non-space falls through to \s+ and stands alone.
      const unsigned char* p = start;
      const unsigned char* last = start;
      while (p < end) {
        const Char c = char_at(p, end);
        if (c.cls != CharClass::kSpace) break;
        last = p;
        p += c.length;
      }
      stop = (p == end || last == start) ? p : last;
    }
  }
  *piece = text_.substr(pos_, static_cast<size_t>(stop - start));
  pos_ = static_cast<size_t>(stop - base);
  return true;
}

}  // namespace hmoe::text
