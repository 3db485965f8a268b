#include "tools/common/vocab_files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "formats/file_io.h"
#include "tools/common/json_string.h"

namespace hmoe::text {

namespace {

class VocabParser {
 public:
  explicit VocabParser(std::string_view json) : json_(json) {}

  std::vector<std::string> parse() {
    // (id, spelling, offset of the id) in file order; ids are checked once all are known,
    // so a huge id in a bad file costs an error, not a huge allocation.
    struct Entry {
      int64_t id;
      std::string piece;
      size_t at;
    };
    std::vector<Entry> entries;
    skip_space();
    expect('{', "the vocabulary must be a JSON object");
    skip_space();
    if (peek() == '}') {
      ++pos_;
    } else {
      while (true) {
        skip_space();
        std::string key;
        if (peek() != '"') fail("expected a string key", pos_);
        try {
          parse_json_string(json_, &pos_, &key);
        } catch (const JsonError& e) {
          fail(e.what(), e.offset());
        }
        skip_space();
        expect(':', "expected ':' after a key");
        skip_space();
        const size_t value_at = pos_;
        const int64_t id = parse_id();
        entries.push_back({id, std::move(key), value_at});
        skip_space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}', "expected ',' or '}' after a value");
        break;
      }
    }
    skip_space();
    if (pos_ != json_.size()) fail("unexpected text after the object", pos_);

    std::vector<std::string> by_id(entries.size());
    std::vector<bool> seen(entries.size(), false);
    for (Entry& e : entries) {
      if (e.id >= static_cast<int64_t>(entries.size()))
        fail("id " + std::to_string(e.id) + " is out of range: " + std::to_string(entries.size()) +
                 " tokens need ids 0.." + std::to_string(entries.size() - 1) + " without gaps",
             e.at);
      if (seen[e.id]) fail("id " + std::to_string(e.id) + " is given to a second token", e.at);
      seen[e.id] = true;
      by_id[e.id] = std::move(e.piece);
    }
    return by_id;
  }

  [[noreturn]] void fail(const std::string& what, size_t at) const {
    throw TokenizerError("vocab.json: " + line_and_column(json_, at) + ": " + what);
  }
  char peek() const { return pos_ < json_.size() ? json_[pos_] : '\0'; }
  void expect(char c, const char* what) {
    if (peek() != c) fail(what, pos_);
    ++pos_;
  }
  void skip_space() {
    while (pos_ < json_.size() &&
           (json_[pos_] == ' ' || json_[pos_] == '\t' || json_[pos_] == '\n' || json_[pos_] == '\r'))
      ++pos_;
  }
  // A token id: a JSON number that is a non-negative integer below 2^31.
  int64_t parse_id() {
    const size_t start = pos_;
    if (peek() == '-') fail("token ids cannot be negative", start);
    int64_t v = 0;
    bool any = false;
    while (pos_ < json_.size() && json_[pos_] >= '0' && json_[pos_] <= '9') {
      v = v * 10 + (json_[pos_] - '0');
      if (v > std::numeric_limits<int32_t>::max()) fail("token id is too large", start);
      ++pos_;
      any = true;
    }
    if (!any) fail("expected an integer token id", start);
    if (pos_ - start > 1 && json_[start] == '0') fail("leading zero in a token id", start);
    if (peek() == '.' || peek() == 'e' || peek() == 'E') fail("token ids must be integers", start);
    return v;
  }

  std::string_view json_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<std::string> parse_vocab_json(std::string_view json) { return VocabParser(json).parse(); }

std::vector<std::string> parse_merges_txt(std::string_view text) {
  std::vector<std::string> merges;
  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size() ||
        line.find(' ', sp + 1) != std::string_view::npos)
      throw TokenizerError("merges.txt: line " + std::to_string(line_no) +
                           " is not two tokens separated by one space: \"" +
                           std::string(line.substr(0, 80)) + "\"");
    merges.emplace_back(line);
  }
  return merges;
}

std::string read_text_file(const std::string& path) {
  try {
    return read_regular_file(path, "file");  // refuses FIFOs and devices unopened, bounds the size
  } catch (const IoError& e) {
    throw TokenizerError(e.what(), Status::Io);
  }
}

std::unique_ptr<BpeTokenizer> load_gpt2_tokenizer(const std::string& vocab_json_path,
                                                  const std::string& merges_txt_path) {
  std::vector<std::string> vocab, merges;
  try {
    vocab = parse_vocab_json(read_text_file(vocab_json_path));
  } catch (const TokenizerError& e) {
    throw TokenizerError("'" + vocab_json_path + "': " + e.what(), e.status());
  }
  try {
    merges = parse_merges_txt(read_text_file(merges_txt_path));
  } catch (const TokenizerError& e) {
    throw TokenizerError("'" + merges_txt_path + "': " + e.what(), e.status());
  }
  int32_t eot = -1;
  for (size_t id = 0; id < vocab.size(); ++id)
    if (vocab[id] == "<|endoftext|>") eot = static_cast<int32_t>(id);
  try {
    return std::make_unique<BpeTokenizer>(std::move(vocab), merges, eot, eot);
  } catch (const TokenizerError& e) {
    throw TokenizerError("'" + vocab_json_path + "' + '" + merges_txt_path + "': " + e.what(), e.status());
  }
}

}  // namespace hmoe::text
