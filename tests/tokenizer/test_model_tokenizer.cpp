// The tokenizer a .hmoe file carries: none, a working one, and refusals that name the file.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "formats/model_writer.h"
#include "runtime/text/byte_unicode.h"
#include "runtime/text/model_tokenizer.h"

using namespace hmoe;

namespace {

TokenizerData toy_tokenizer() {
  TokenizerData d;
  TokenizerData* t = &d;
  t->kind = TokenizerKind::Gpt2Bpe;
  for (int b = 0; b < 256; ++b) t->vocab.push_back(text::bytes_to_piece(std::string(1, static_cast<char>(b))));
  t->vocab.push_back("hi");
  t->vocab.push_back("<|endoftext|>");
  t->merges = {"h i"};
  t->eos_id = 257;
  return d;
}

// Writes a header-only model with `tok` and vocab_size `vocab`, and opens it.
std::unique_ptr<ModelFile> model_with(TokenizerData tok, int64_t vocab) {
  ModelHeader m;
  m.hparams.vocab_size = vocab;
  m.tokenizer = std::move(tok);
  const char* dir = std::getenv("TMPDIR");
  // Unique per process and call: ctest may run these cases in parallel.
  static int serial = 0;
  const std::string path = std::string(dir && *dir ? dir : "/tmp") + "/hmoe_model_tokenizer_test_" +
                           std::to_string(getpid()) + "_" + std::to_string(serial++) + ".hmoe";
  write_model_file(path, m, {});
  auto file = ModelFile::open(path);
  std::remove(path.c_str());  // the mapping stays valid
  return file;
}

}  // namespace

TEST_CASE("a model without a tokenizer table, or of kind NONE, has none") {
  CHECK(text::load_model_tokenizer(*model_with(TokenizerData{}, 300)) == nullptr);
}

TEST_CASE("a model's GPT-2 tokenizer loads with its eos") {
  auto tok = text::load_model_tokenizer(*model_with(toy_tokenizer(), 300));
  REQUIRE(tok != nullptr);
  CHECK(tok->vocab_size() == 258);
  CHECK(tok->eos_id() == 257);
  CHECK(tok->bos_id() == -1);
  CHECK(tok->encode("hi<|endoftext|>") == std::vector<int32_t>{256, 257});
}

TEST_CASE("bad tokenizer tables are refused, naming the file") {
  CHECK_THROWS_WITH_AS(text::load_model_tokenizer(*model_with(toy_tokenizer(), 100)),
                       doctest::Contains("has 258 tokens but the model's vocab_size is 100"), text::TokenizerError);
  auto bad = toy_tokenizer();
  bad.merges.push_back("h x");
  CHECK_THROWS_WITH_AS(text::load_model_tokenizer(*model_with(std::move(bad), 300)),
                       doctest::Contains(".hmoe': tokenizer: merge 1"), text::TokenizerError);
  auto unknown = toy_tokenizer();
  unknown.kind = static_cast<TokenizerKind>(7);
  CHECK_THROWS_WITH_AS(text::load_model_tokenizer(*model_with(std::move(unknown), 300)),
                       doctest::Contains("kind 7 is not supported"), text::TokenizerError);
}
