// GPT-2's byte-to-unicode map: every byte value gets a printable character, so a
// vocabulary of byte strings can be written as text (vocab.json, merges.txt).
// Printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) map to
// themselves; the other 68 bytes map, in increasing order, to U+0100.. U+0143
// (so the space 0x20 becomes U+0120 'Ġ' and the newline 0x0A becomes U+010A 'Ċ').
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace hmoe::text {

// The code point that stands for `byte`.
uint32_t byte_to_unicode(uint8_t byte);
// The byte a code point stands for, or -1 when it is not one of the 256 characters.
int unicode_to_byte(uint32_t code_point);

// Raw bytes -> their spelling in the vocabulary ("Ġthe" for " the").
std::string bytes_to_piece(std::string_view bytes);
// A vocabulary spelling -> the raw bytes it stands for. Returns false (and leaves
// `out` unspecified) when the spelling holds invalid UTF-8 or a character outside the
// 256 of the map.
bool piece_to_bytes(std::string_view piece, std::string* out);

}  // namespace hmoe::text
