// Writes small .hmoe files for the CLI tests of `tokenize` and `inspect` (no converter
// needed): a header with hyper-parameters, metadata and a few tensors, with or without
// a tokenizer.
//
//   make_text_test_model toy OUT          toy tokenizer: 256 bytes, merges "a b", "ab ab",
//                                         "Ġ ab", then <|endoftext|> (= eos and bos)
//   make_text_test_model none OUT         no tokenizer
//   make_text_test_model gpt2 OUT VOCAB_JSON MERGES_TXT   GPT-2's tokenizer files
#include <cstdio>
#include <string>
#include <vector>

#include "formats/model_writer.h"
#include "runtime/text/byte_unicode.h"
#include "tools/common/vocab_files.h"

namespace {

hmoe::TokenizerData toy_tokenizer() {
  hmoe::TokenizerData d;
  hmoe::TokenizerData* t = &d;
  t->kind = hmoe::TokenizerKind::Gpt2Bpe;
  for (int b = 0; b < 256; ++b) t->vocab.push_back(hmoe::text::bytes_to_piece(std::string(1, static_cast<char>(b))));
  t->vocab.push_back("ab");                                      // 256
  t->vocab.push_back("abab");                                    // 257
  t->vocab.push_back(hmoe::text::bytes_to_piece(" ab"));        // 258
  t->vocab.push_back("<|endoftext|>");                           // 259
  t->merges = {"a b", "ab ab", hmoe::text::bytes_to_piece(" ") + " ab"};
  t->eos_id = t->bos_id = 259;
  return d;
}

hmoe::TokenizerData gpt2_tokenizer(const std::string& vocab_json, const std::string& merges_txt) {
  hmoe::TokenizerData d;
  hmoe::TokenizerData* t = &d;
  t->kind = hmoe::TokenizerKind::Gpt2Bpe;
  t->vocab = hmoe::text::parse_vocab_json(hmoe::text::read_text_file(vocab_json));
  t->merges = hmoe::text::parse_merges_txt(hmoe::text::read_text_file(merges_txt));
  for (size_t i = 0; i < t->vocab.size(); ++i)
    if (t->vocab[i] == "<|endoftext|>") t->eos_id = t->bos_id = static_cast<int32_t>(i);
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string kind = argc > 1 ? argv[1] : "";
  if (!((kind == "toy" || kind == "none") && argc == 3) && !(kind == "gpt2" && argc == 5)) {
    std::fprintf(stderr, "usage: make_text_test_model (toy|none) OUT | gpt2 OUT VOCAB_JSON MERGES_TXT\n");
    return 2;
  }
  try {
    hmoe::ModelHeader m;
    m.arch = hmoe::Arch::Gpt2HyperMoE;
    if (kind == "toy") m.tokenizer = toy_tokenizer();
    if (kind == "gpt2") m.tokenizer = gpt2_tokenizer(argv[3], argv[4]);
    const int64_t vocab = m.tokenizer.kind != hmoe::TokenizerKind::None ? static_cast<int64_t>(m.tokenizer.vocab.size()) : 300;
    m.hparams.vocab_size = vocab;
    m.hparams.n_positions = 16;
    m.hparams.n_embd = 32;
    m.hparams.n_layer = 1;
    m.hparams.n_head = 2;
    m.hparams.n_experts = 4;
    m.hparams.top_k = 2;
    m.metadata.emplace_back("general.name", "text test model \"" + kind + "\"");

    const std::vector<float> embd(static_cast<size_t>(vocab) * 32, 0.5f);
    const std::vector<float> pos(16 * 32, 0.25f);
    const std::vector<uint8_t> gate_q8(static_cast<size_t>(4 * 32 + 4 * 2), 0);  // [4, 32] q8_0: quants + f16 scales
    std::vector<hmoe::TensorBlob> tensors = {
        {"tok_embd", hmoe::DType::F32, {vocab, 32}, embd.data(), embd.size() * 4},
        {"pos_embd", hmoe::DType::F32, {16, 32}, pos.data(), pos.size() * 4},
        {"blk.0.moe.gate", hmoe::DType::Q8_0, {4, 32}, gate_q8.data(), gate_q8.size()},
    };
    hmoe::write_model_file(argv[2], m, tensors);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_text_test_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
