// The two pieces of JSON the text layer needs: reading a string literal (for
// vocab.json) and writing one (for machine-readable output). Not a general JSON library.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hmoe::text {

class JsonError : public std::runtime_error {
 public:
  JsonError(const std::string& what, size_t offset) : std::runtime_error(what), offset_(offset) {}
  size_t offset() const { return offset_; }  // byte offset of the problem in the input

 private:
  size_t offset_;
};

// Parses the string literal whose opening quote is at json[*pos]; on success appends
// its UTF-8 value to `out` and leaves *pos after the closing quote. Handles every
// escape of RFC 8259, \uXXXX surrogate pairs included. Throws JsonError on a lone
// surrogate, a bad escape, a raw control character, invalid UTF-8 or a missing quote.
void parse_json_string(std::string_view json, size_t* pos, std::string* out);

// `text` as a JSON string literal, quotes included. Control characters, '"' and '\'
// are escaped; bytes that are not valid UTF-8 become U+FFFD so the output is always
// valid JSON.
std::string json_quote(std::string_view text);

// "line L, column C" of a byte offset, for messages about a text file.
std::string line_and_column(std::string_view text, size_t offset);

}  // namespace hmoe::text
