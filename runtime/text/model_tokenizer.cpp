#include "runtime/text/model_tokenizer.h"

#include "formats/model_file.h"
#include "hmoe_generated.h"

namespace hmoe::text {

std::unique_ptr<BpeTokenizer> load_model_tokenizer(const ModelFile& model) {
  const fb::Tokenizer* t = model.header().tokenizer();
  if (t == nullptr || t->kind() == fb::TokenizerKind::NONE) return nullptr;
  const std::string where = "'" + model.source() + "': tokenizer: ";
  if (t->kind() != fb::TokenizerKind::GPT2_BPE)
    throw TokenizerError(where + "kind " + std::to_string(static_cast<int>(t->kind())) +
                         " is not supported by this build (it knows GPT2_BPE)");
  std::vector<std::string> vocab, merges;
  if (t->vocab()) {
    vocab.reserve(t->vocab()->size());
    for (const flatbuffers::String* s : *t->vocab()) vocab.emplace_back(s->data(), s->size());
  }
  if (t->merges()) {
    merges.reserve(t->merges()->size());
    for (const flatbuffers::String* s : *t->merges()) merges.emplace_back(s->data(), s->size());
  }
  const uint32_t model_vocab = model.header().hparams()->vocab_size();
  if (vocab.size() > model_vocab)
    throw TokenizerError(where + "has " + std::to_string(vocab.size()) + " tokens but the model's vocab_size is " +
                         std::to_string(model_vocab));
  try {
    return std::make_unique<BpeTokenizer>(std::move(vocab), merges, t->eos_id(), t->bos_id());
  } catch (const TokenizerError& e) {
    throw TokenizerError(where + e.what(), e.status());
  }
}

}  // namespace hmoe::text
