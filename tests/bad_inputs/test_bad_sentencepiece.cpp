// Rows F25..F27 of tests/BAD_INPUTS.md: a model file whose tokenizer is a SentencePiece
// model (kind SENTENCEPIECE) that is missing, corrupt or too large. The model's weights
// are fine, so Model::load accepts the file (ids work); the tokenizer is refused by
// load_model_tokenizer (TokenizerError naming the file; the C API's hmoe_model_load
// reports HMOE_ERR_BAD_FILE) and by `hmoe run -p` / `hmoe tokenize` (exit 1, one line).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "formats/model_file.h"
#include "runtime/model/model.h"
#include "runtime/text/model_tokenizer.h"
#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"
#include "tests/tokenizer/proto_edit.h"

#ifndef HMOE_FUZZ_DATA_DIR
#error "the build defines HMOE_FUZZ_DATA_DIR (tests/fuzz/data, where spm_rules.model lies)"
#endif

using namespace hmoe;
using namespace hmoe::bad_inputs;

namespace {

// spm_rules.model: 250 unigram pieces (pad 0, eos 1, unk 2) with a small normalization trie.
std::string spm_rules() {
  const std::vector<uint8_t> b = read_file(HMOE_FUZZ_DATA_DIR "/spm_rules.model");
  return std::string(b.begin(), b.end());
}

// The 300-token seed with a SentencePiece tokenizer instead of its GPT-2 one: `model`
// and `added` sentinels (250 + 50 = 300 fits).
std::vector<uint8_t> with_sentencepiece(const std::string& model, int added = 50) {
  ModelSurgery m(read_file(seed_model_path("hyper_n4k2_f32_tok")));
  fb::TokenizerT& t = *m.header().tokenizer;
  t.kind = fb::TokenizerKind::SENTENCEPIECE;
  t.vocab.clear();
  for (int k = added - 1; k >= 0; --k) t.vocab.push_back("<extra_id_" + std::to_string(k) + ">");
  t.merges.clear();
  t.sp_model.assign(model.begin(), model.end());
  t.eos_id = 1;
  t.bos_id = -1;
  t.pad_id = 0;
  return m.build();
}

bool model_loads(const std::vector<uint8_t>& bytes) {
  ModelOptions mo;
  mo.n_threads = 1;
  Model::load_from_memory(bytes.data(), bytes.size(), mo);
  return true;
}

// The tokenizer's refusal from the core and from two commands; "" when all name `fragment`.
std::string refusals(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  std::string problems;
  auto file = ModelFile::from_memory(bytes.data(), bytes.size());
  try {
    text::load_model_tokenizer(*file);
    problems += "load_model_tokenizer accepted it; ";
  } catch (const text::TokenizerError& e) {
    if (std::string(e.what()).find(fragment) == std::string::npos)
      problems += std::string("load_model_tokenizer: \"") + e.what() + "\"; ";
  }
  TempFile f("spm.hmoe");
  f.write(bytes);
  const std::string run = refusal_problem(run_hmoe({"run", "-m", f.path(), "-p", "Licensed", "-n", "1"}), 1, fragment);
  if (!run.empty()) problems += "hmoe run: " + run + "; ";
  const std::string tok = refusal_problem(run_hmoe({"tokenize", "-m", f.path(), "-p", "Licensed"}), 1, fragment);
  if (!tok.empty()) problems += "hmoe tokenize: " + tok;
  return problems;
}

}  // namespace

TEST_CASE("F25 a SentencePiece tokenizer without its model") {
  // Control: with the model it loads and tokenizes.
  const std::vector<uint8_t> good = with_sentencepiece(spm_rules());
  CHECK(model_loads(good));
  {
    auto file = ModelFile::from_memory(good.data(), good.size());
    const auto tok = text::load_model_tokenizer(*file);
    REQUIRE(tok != nullptr);
    CHECK(tok->vocab_size() == 300);
    TempFile f("spm.hmoe");
    f.write(good);
    const CliResult r = run_hmoe({"run", "-m", f.path(), "-p", "Licensed", "-n", "1"});
    CHECK_MESSAGE(r.exit_code == 0, r.describe());
  }
  const std::vector<uint8_t> missing = with_sentencepiece("");
  CHECK(model_loads(missing));  // the weights are fine: token ids still work
  const std::string p = refusals(missing, "kind SENTENCEPIECE without a SentencePiece model (sp_model is missing or empty)");
  CHECK_MESSAGE(p.empty(), p);
}

TEST_CASE("F26 a corrupt SentencePiece model") {
  using namespace hmoe::test;
  const std::string model = spm_rules();
  SUBCASE("not a model: text, random bytes, a truncated model") {
    for (const std::string& bad : {std::string("this is not a SentencePiece model"), std::string("\xFF\xFF\xFF\xFF"),
                                   model.substr(0, model.size() / 2)}) {
      const std::vector<uint8_t> bytes = with_sentencepiece(bad);
      CHECK(model_loads(bytes));
      const std::string p = refusals(bytes, "tokenizer: the SentencePiece model");
      CHECK_MESSAGE(p.empty(), p);
    }
  }
  SUBCASE("normalization rules whose trie points outside itself") {
    const std::string spec = proto_get(model, kSpNormalizerSpec);
    std::string blob = proto_get(spec, kSpNormalizerCharsmap);
    REQUIRE(blob.size() > 8);
    blob[4 + 3] = '\x7F';  // the root unit's offset, far past the array
    const std::string bad = proto_set(model, bytes_field(kSpNormalizerSpec, proto_set(spec, bytes_field(kSpNormalizerCharsmap, blob))));
    const std::string p = refusals(with_sentencepiece(bad), "normalization rules (precompiled_charsmap) are corrupt");
    CHECK_MESSAGE(p.empty(), p);
  }
  SUBCASE("a model type other than unigram") {
    const std::string trainer = proto_set(proto_get(model, kSpTrainerSpec), varint_field(kSpTrainerModelType, 2));
    const std::string p = refusals(with_sentencepiece(proto_set(model, bytes_field(kSpTrainerSpec, trainer))),
                                   "type is 2, not unigram (1)");
    CHECK_MESSAGE(p.empty(), p);
  }
}

TEST_CASE("F27 a SentencePiece tokenizer larger than the model's vocabulary") {
  // 250 pieces + 51 added tokens = 301 for vocab_size 300.
  const std::vector<uint8_t> bytes = with_sentencepiece(spm_rules(), 51);
  CHECK(model_loads(bytes));
  const std::string p = refusals(bytes, "has 301 tokens but the model's vocab_size is 300");
  CHECK_MESSAGE(p.empty(), p);
}
