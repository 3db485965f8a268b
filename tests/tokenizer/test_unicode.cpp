// UTF-8 decoding, the character class tables and GPT-2's byte-to-unicode map.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "runtime/text/byte_unicode.h"
#include "runtime/text/unicode.h"

using namespace hmoe::text;

TEST_CASE("character classes follow \\p{L}, \\p{N} and White_Space") {
  CHECK(char_class('a') == CharClass::kLetter);
  CHECK(char_class('Z') == CharClass::kLetter);
  CHECK(char_class('7') == CharClass::kNumber);
  CHECK(char_class(' ') == CharClass::kSpace);
  CHECK(char_class('\t') == CharClass::kSpace);
  CHECK(char_class('_') == CharClass::kOther);
  CHECK(char_class(0x00E9) == CharClass::kLetter);   // é
  CHECK(char_class(0x4E16) == CharClass::kLetter);   // 世
  CHECK(char_class(0x30FC) == CharClass::kLetter);   // ー (Lm)
  CHECK(char_class(0x0301) == CharClass::kOther);    // combining acute (Mn)
  CHECK(char_class(0x0903) == CharClass::kOther);    // Devanagari visarga (Mc)
  CHECK(char_class(0x2167) == CharClass::kNumber);   // Ⅷ (Nl)
  CHECK(char_class(0x00BD) == CharClass::kNumber);   // ½ (No)
  CHECK(char_class(0x0663) == CharClass::kNumber);   // Arabic-Indic three (Nd)
  CHECK(char_class(0x1D7D8) == CharClass::kNumber);  // 𝟘 (Nd, astral)
  CHECK(char_class(0x20000) == CharClass::kLetter);  // CJK extension B (astral)
  CHECK(char_class(0x1F600) == CharClass::kOther);   // 😀
  CHECK(char_class(0x00A0) == CharClass::kSpace);
  CHECK(char_class(0x3000) == CharClass::kSpace);
  CHECK(char_class(0x2028) == CharClass::kSpace);
  CHECK(char_class(0x0085) == CharClass::kSpace);    // NEL: White_Space, as for `regex`
  CHECK(char_class(0xFEFF) == CharClass::kOther);    // BOM: not White_Space
  CHECK(char_class(0x200B) == CharClass::kOther);    // zero width space: not White_Space
  CHECK(char_class(0x001C) == CharClass::kOther);    // str.isspace() says yes; `regex`'s \s says no
  CHECK(char_class(0x10FFFF) == CharClass::kOther);
  CHECK(std::string(unicode_tables_version()) == "14.0.0");
}

TEST_CASE("decode_utf8 accepts every valid form and rejects the invalid ones") {
  auto dec = [](const std::string& s) {
    return decode_utf8(reinterpret_cast<const unsigned char*>(s.data()),
                       reinterpret_cast<const unsigned char*>(s.data()) + s.size());
  };
  CHECK(dec("A").code_point == 'A');
  CHECK(dec("\xc3\xa9").code_point == 0xE9);
  CHECK(dec("\xe2\x82\xac").code_point == 0x20AC);
  CHECK(dec("\xf0\x9f\x98\x80").code_point == 0x1F600);
  CHECK(dec("\xf4\x8f\xbf\xbf").code_point == 0x10FFFF);
  for (const char* bad : {"\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf0\x80\x80\x80",
                          "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe2\x82", "\xc3\x41"}) {
    CAPTURE(bad);
    const Utf8Char c = dec(bad);
    CHECK_FALSE(c.valid);
    CHECK(c.length == 1);
  }
}

TEST_CASE("find_invalid_utf8 names the offset of the first bad byte") {
  CHECK(find_invalid_utf8("") == std::string_view::npos);
  CHECK(find_invalid_utf8("plain ascii text that is long enough for the fast path") == std::string_view::npos);
  CHECK(find_invalid_utf8("h\xc3\xa9llo \xf0\x9f\x98\x80") == std::string_view::npos);
  CHECK(find_invalid_utf8("0123456789abcdef\xff") == 16);
  CHECK(find_invalid_utf8("ok \xe2\x82 cut") == 3);
  CHECK(find_invalid_utf8("\xed\xb0\x80") == 0);  // a surrogate
}

TEST_CASE("byte-to-unicode map is GPT-2's") {
  CHECK(byte_to_unicode('!') == '!');
  CHECK(byte_to_unicode('~') == '~');
  CHECK(byte_to_unicode(' ') == 0x120);   // 'Ġ'
  CHECK(byte_to_unicode('\n') == 0x10A);  // 'Ċ'
  CHECK(byte_to_unicode(0) == 0x100);
  CHECK(byte_to_unicode(0xAD) == 0x143);  // the soft hyphen is the last one remapped
  CHECK(byte_to_unicode(0xFF) == 0xFF);
  std::set<uint32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = byte_to_unicode(static_cast<uint8_t>(b));
    CHECK(unicode_to_byte(cp) == b);
    seen.insert(cp);
  }
  CHECK(seen.size() == 256);
  CHECK(unicode_to_byte(0x144) == -1);
  CHECK(unicode_to_byte(' ') == -1);
  CHECK(bytes_to_piece(" the\n") == "\xc4\xa0the\xc4\x8a");
  std::string bytes;
  CHECK(piece_to_bytes("\xc4\xa0world", &bytes));
  CHECK(bytes == " world");
  CHECK_FALSE(piece_to_bytes("a b", &bytes));  // a raw space is not in the alphabet
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  CHECK(piece_to_bytes(bytes_to_piece(all), &bytes));
  CHECK(bytes == all);
}
