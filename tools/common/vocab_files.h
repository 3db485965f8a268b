// Reading GPT-2's tokenizer files: vocab.json (a JSON object from each token's
// spelling to its id) and merges.txt ("#version" line, then one "left right" merge per
// line in rank order). Used by tests and tools; a model file carries the same data in
// its Tokenizer table (model_tokenizer.h).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/text/bpe_tokenizer.h"

namespace hmoe::text {

// Spellings ordered by id. The ids must be exactly 0..n-1, each once. Throws
// TokenizerError with the line and column of the problem.
std::vector<std::string> parse_vocab_json(std::string_view json);

// Merges in rank order. Skips a first line starting with "#version" and blank lines;
// accepts \r\n. Throws TokenizerError naming the line of a malformed merge.
std::vector<std::string> parse_merges_txt(std::string_view text);

// Loads both files; eos and bos are <|endoftext|> when the vocabulary has it.
// Errors name the file.
std::unique_ptr<BpeTokenizer> load_gpt2_tokenizer(const std::string& vocab_json_path,
                                                  const std::string& merges_txt_path);

// The whole file; throws TokenizerError (Status::Io) naming the path when it cannot be
// read, is not a regular file, or exceeds kMaxTextInputBytes (formats/file_io.h).
std::string read_text_file(const std::string& path);

}  // namespace hmoe::text
