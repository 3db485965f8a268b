#include "runtime/text/model_tokenizer.h"

#include "formats/model_file.h"

namespace hmoe::text {

std::unique_ptr<BpeTokenizer> load_model_tokenizer(const ModelFile& model) {
  const TokenizerData& t = model.header().tokenizer;
  if (t.kind == TokenizerKind::None) return nullptr;
  const std::string where = "'" + model.source() + "': tokenizer: ";
  if (t.kind != TokenizerKind::Gpt2Bpe)
    throw TokenizerError(where + "kind " + std::to_string(static_cast<int>(t.kind)) +
                         " is not supported by this build (it knows GPT2_BPE)");
  const int64_t model_vocab = model.header().hparams.vocab_size;
  if (static_cast<int64_t>(t.vocab.size()) > model_vocab)
    throw TokenizerError(where + "has " + std::to_string(t.vocab.size()) + " tokens but the model's vocab_size is " +
                         std::to_string(model_vocab));
  try {
    return std::make_unique<BpeTokenizer>(t.vocab, t.merges, t.eos_id, t.bos_id);
  } catch (const TokenizerError& e) {
    throw TokenizerError(where + e.what(), e.status());
  }
}

}  // namespace hmoe::text
