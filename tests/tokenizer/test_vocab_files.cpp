// vocab.json and merges.txt parsing, JSON string escapes both ways, and loading from files.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/text/byte_unicode.h"
#include "tools/common/json_string.h"
#include "tools/common/vocab_files.h"

using namespace hmoe::text;

namespace {
std::string unquote(const std::string& literal) {
  size_t pos = 0;
  std::string out;
  parse_json_string(literal, &pos, &out);
  CHECK(pos == literal.size());
  return out;
}

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/hmoe_tokenizer_test_" + std::to_string(getpid()) + "_" + name;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}
}  // namespace

TEST_CASE("JSON string escapes, surrogate pairs included") {
  CHECK(unquote(R"("plain")") == "plain");
  CHECK(unquote(R"("q\"b\\s\/n\nr\rt\tb\bf\f")") == "q\"b\\s/n\nr\rt\tb\bf\f");
  CHECK(unquote(R"("\u0120the")") == "\xc4\xa0the");
  CHECK(unquote(R"("\u00e9\u00E9")") == "\xc3\xa9\xc3\xa9");
  CHECK(unquote(R"("\ud83d\ude00")") == "\xf0\x9f\x98\x80");  // 😀 as a surrogate pair
  CHECK(unquote(R"("\uD83D\uDE00")") == "\xf0\x9f\x98\x80");
  CHECK(unquote("\"raw \xe6\x97\xa5\"") == "raw \xe6\x97\xa5");
  CHECK(unquote(R"("\u0000")") == std::string(1, '\0'));
}

TEST_CASE("JSON string errors say what and where") {
  auto fails = [](const std::string& literal, const std::string& what, size_t offset) {
    size_t pos = 0;
    std::string out;
    try {
      parse_json_string(literal, &pos, &out);
      FAIL("parsed " << literal);
    } catch (const JsonError& e) {
      CHECK(std::string(e.what()).find(what) != std::string::npos);
      CHECK(e.offset() == offset);
    }
  };
  fails(R"("\ud83d")", "not followed by a low surrogate", 1);
  fails(R"("\ud83dx")", "not followed by a low surrogate", 1);
  fails(R"("\ud83d\u0041")", "not followed by a low surrogate", 1);
  fails(R"("ab\ude00")", "lone low surrogate", 3);
  fails(R"("\u12g4")", "four hex digits", 3);
  fails(R"("\x")", "unknown escape", 1);
  fails("\"open", "not closed", 0);
  fails("\"tab\there\"", "control character", 4);
  fails("\"bad \xff\"", "invalid UTF-8", 5);
}

TEST_CASE("json_quote escapes and keeps output valid") {
  CHECK(json_quote("a\"b\\c\n\t\x01") == R"("a\"b\\c\n\t\u0001")");
  CHECK(json_quote("\xc4\xa0the") == "\"\xc4\xa0the\"");
  CHECK(json_quote("bad\xff") == R"("bad\ufffd")");
  const std::string round = "x\"\\\n\x1f\xf0\x9f\x98\x80";
  CHECK(unquote(json_quote(round)) == round);
}

TEST_CASE("vocab.json: ids order the spellings; gaps, repeats and junk are refused") {
  CHECK(parse_vocab_json(R"({"b": 1, "a": 0, "\u0120c": 2})") == std::vector<std::string>{"a", "b", "\xc4\xa0" "c"});
  CHECK(parse_vocab_json(" {\n} ").empty());
  auto fails = [](const std::string& json, const std::string& what) {
    CAPTURE(json);
    CHECK_THROWS_WITH_AS(parse_vocab_json(json), doctest::Contains(what.c_str()), TokenizerError);
  };
  fails(R"({"a": 0, "b": 2})", "id 2 is out of range");
  fails(R"({"a": 0, "b": 0})", "id 0 is given to a second token");
  fails(R"({"a": -1})", "cannot be negative");
  fails(R"({"a": 1.5})", "must be integers");
  fails(R"({"a": 01})", "leading zero");
  fails(R"({"a": "0"})", "expected an integer");
  fails(R"({"a" 0})", "expected ':'");
  fails(R"({"a": 0,})", "expected a string key");
  fails(R"({"a": 0} x)", "unexpected text");
  fails(R"(["a"])", "must be a JSON object");
  fails("{\n  \"a\": 0,\n  \"\\ud800\": 1}", "line 3, column 4");
  fails(R"({"a": 99999999999})", "too large");
}

TEST_CASE("merges.txt: version line, blank lines and CRLF; a malformed line is named") {
  CHECK(parse_merges_txt("#version: 0.2\n\xc4\xa0 t\na b\n") == std::vector<std::string>{"\xc4\xa0 t", "a b"});
  CHECK(parse_merges_txt("a b\r\nc d\r\n\r\n") == std::vector<std::string>{"a b", "c d"});
  CHECK(parse_merges_txt("").empty());
  CHECK_THROWS_WITH_AS(parse_merges_txt("#version: 0.2\na b\nabc\n"), doctest::Contains("line 3"), TokenizerError);
  CHECK_THROWS_WITH_AS(parse_merges_txt("a  b\n"), doctest::Contains("line 1"), TokenizerError);
}

TEST_CASE("load_gpt2_tokenizer reads both files and names them in errors") {
  std::vector<std::string> pieces;
  for (int b = 0; b < 256; ++b) pieces.push_back(bytes_to_piece(std::string(1, static_cast<char>(b))));
  pieces.push_back("ab");
  pieces.push_back("<|endoftext|>");
  // Written with json_quote, so some entries are raw UTF-8 and some escaped.
  std::string vocab = "{";
  for (size_t i = 0; i < pieces.size(); ++i) vocab += (i ? ",\n" : "\n") + json_quote(pieces[i]) + ": " + std::to_string(i);
  vocab += "\n}\n";
  const std::string vpath = temp_path("vocab.json"), mpath = temp_path("merges.txt");
  write_file(vpath, vocab);
  write_file(mpath, "#version: 0.2\na b\n");
  auto t = load_gpt2_tokenizer(vpath, mpath);
  CHECK(t->vocab_size() == 258);
  CHECK(t->merge_count() == 1);
  CHECK(t->eos_id() == 257);
  CHECK(t->encode("ab<|endoftext|>") == std::vector<int32_t>{256, 257});

  write_file(mpath, "#version: 0.2\na q\n");
  CHECK_THROWS_WITH_AS(load_gpt2_tokenizer(vpath, mpath), doctest::Contains("merged token \"aq\""), TokenizerError);
  CHECK_THROWS_WITH_AS(load_gpt2_tokenizer(vpath + ".missing", mpath), doctest::Contains(".missing"), TokenizerError);
  write_file(vpath, "{\"a\": 0");
  CHECK_THROWS_WITH_AS(load_gpt2_tokenizer(vpath, mpath), doctest::Contains(vpath.c_str()), TokenizerError);
  std::remove(vpath.c_str());
  std::remove(mpath.c_str());
}
