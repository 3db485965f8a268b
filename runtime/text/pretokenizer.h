// GPT-2's pre-tokenizer, by hand: splits text into the pieces that the pattern
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// finds with Python's `regex` module (leftmost alternative wins, greedy runs,
// backtracking into \s+ for the look-ahead). Consequences worth knowing:
//  - contractions are lower-case only and need no word boundary ("'sa" -> "'s", "a");
//  - only U+0020 may lead a word; other whitespace stands alone;
//  - a whitespace run followed by a non-space leaves its last character to the next
//    piece ("a   b" -> "a", "  ", " b"; "x\n\ny" -> "x", "\n", "\n", "y"), unless the run
//    ends the text.
// Classes come from unicode.h (see unicode_tables_version()).
//
// Input is bytes. An invalid UTF-8 byte counts as one character of the 'other'
// class, so any input splits; whether such input is accepted at all is the
// tokenizer's decision (see BpeTokenizer::encode).
#pragma once
#include <cstddef>
#include <string_view>

namespace hmoe::text {

class Gpt2PreTokenizer {
 public:
  explicit Gpt2PreTokenizer(std::string_view text) : text_(text) {}
  // The next piece, or false at the end. Pieces cover the text in order, without gaps.
  bool next(std::string_view* piece);

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace hmoe::text
