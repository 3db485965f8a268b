// The pre-tokenizer against splits that Python's `regex` module makes with GPT-2's
// pattern (regex 2022.10.31; every case below was produced by regex.findall).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "runtime/text/pretokenizer.h"

using hmoe::text::Gpt2PreTokenizer;

namespace {
std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  Gpt2PreTokenizer pre(text);
  std::string_view piece;
  while (pre.next(&piece)) out.emplace_back(piece);
  return out;
}

struct Case {
  std::string text;
  std::vector<std::string> pieces;
};
}  // namespace

TEST_CASE("pre-tokenizer splits as GPT-2's regex does") {
  const std::vector<Case> cases = {
    {"Hello world", {"Hello", " world"}},
    {"Hello, world!", {"Hello", ",", " world", "!"}},
    {"a   b", {"a", "  ", " b"}},
    {"x\n\ny", {"x", "\n", "\n", "y"}},
    {"a\tb", {"a", "\t", "b"}},
    {"a \tb", {"a", " ", "\t", "b"}},
    {"  x", {" ", " x"}},
    {"x  ", {"x", "  "}},
    {"   ", {"   "}},
    {"\n", {"\n"}},
    {"I'm you're we'll they've he'd it's don't", {"I", "'m", " you", "'re", " we", "'ll", " they", "'ve", " he", "'d", " it", "'s", " don", "'t"}},
    {"DON'T It'S", {"DON", "'", "T", " It", "'", "S"}},
    {"'sa", {"'s", "a"}},
    {"''s", {"''", "s"}},
    {"!'s", {"!'", "s"}},
    {" 's", {" '", "s"}},
    {"x'y", {"x", "'", "y"}},
    {"'", {"'"}},
    {"'l", {"'", "l"}},
    {"'ll", {"'ll"}},
    {"rock'n'roll", {"rock", "'", "n", "'", "roll"}},
    {"it’s", {"it", "’", "s"}},
    {"abc123def", {"abc", "123", "def"}},
    {" 123 456", {" 123", " 456"}},
    {"3.14", {"3", ".", "14"}},
    {"-42", {"-", "42"}},
    {"1,000", {"1", ",", "000"}},
    {"$5", {"$", "5"}},
    {"a!b", {"a", "!", "b"}},
    {"a !b", {"a", " !", "b"}},
    {"a ! b", {"a", " !", " b"}},
    {"!!! ???", {"!!!", " ???"}},
    {"  \n  x", {"  \n ", " x"}},
    {"\n\n  \tfoo", {"\n\n  ", "\t", "foo"}},
    {"a\r\nb", {"a", "\r", "\n", "b"}},
    {"tab\there", {"tab", "\t", "here"}},
    {"end\n", {"end", "\n"}},
    {"x \302\240y", {"x", " ", "\302\240", "y"}},
    {"x\302\240y", {"x", "\302\240", "y"}},
    {"\343\200\200世界", {"\343\200\200", "世界"}},
    {"日本語のテキスト", {"日本語のテキスト"}},
    {"안녕하세요 세계", {"안녕하세요", " 세계"}},
    {"नमस\340\245\215त\340\245\207 द\340\245\201न\340\244\277य\340\244\276", {"नमस", "\340\245\215", "त", "\340\245\207", " द", "\340\245\201", "न", "\340\244\277", "य", "\340\244\276"}},
    {"Ⅻ ½ ² ①", {"Ⅻ", " ½", " ²", " ①"}},
    {"١٢٣ ٤٥", {"١٢٣", " ٤٥"}},
    {"😀😀 👍🏽", {"😀😀", " 👍🏽"}},
    {"e\314\201té", {"e", "\314\201", "té"}},
    {"\034\035 x", {"\034\035", " x"}},
    {"a\302\205b", {"a", "\302\205", "b"}},
    {"a \302\205b", {"a", " ", "\302\205", "b"}},
    {"x \357\273\277y", {"x", " \357\273\277", "y"}},
    {"\342\200\250\342\200\251z", {"\342\200\250", "\342\200\251", "z"}},
    {"word\342\200\213word", {"word", "\342\200\213", "word"}},
    {"__init__", {"__", "init", "__"}},
    {"foo_bar", {"foo", "_", "bar"}},
    {"a--b", {"a", "--", "b"}},
    {"C++ and C#", {"C", "++", " and", " C", "#"}},
    {"<|endoftext|>", {"<|", "endoftext", "|>"}},
    {" <|endoftext|> ", {" <|", "endoftext", "|>", " "}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(split(c.text) == c.pieces);
  }
}

TEST_CASE("pre-tokenizer: empty text has no pieces") { CHECK(split("").empty()); }

TEST_CASE("pre-tokenizer: pieces cover the text without gaps, even invalid UTF-8") {
  const std::string text = "ab\xff\xfe cd \xc3 \xe2\x82 1\x80\x80 \xf0\x9f\x98\x80!  \xed\xa0\x80x";
  std::string joined;
  for (const std::string& p : split(text)) {
    CHECK_FALSE(p.empty());
    joined += p;
  }
  CHECK(joined == text);
}

TEST_CASE("pre-tokenizer: an invalid byte counts as 'other' (punctuation-like)") {
  CHECK(split("ab\xff" "cd") == std::vector<std::string>{"ab", "\xff", "cd"});
  CHECK(split("a !\xff!") == std::vector<std::string>{"a", " !\xff!"});
  CHECK(split("x \xc3") == std::vector<std::string>{"x", " \xc3"});
}

TEST_CASE("pre-tokenizer: a very long run is one piece") {
  const std::string letters(100000, 'a');
  CHECK(split(letters) == std::vector<std::string>{letters});
  const std::string spaces(50000, ' ');
  CHECK(split(spaces + "x") == std::vector<std::string>{std::string(49999, ' '), " x"});
}
