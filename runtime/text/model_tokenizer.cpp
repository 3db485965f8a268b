#include "runtime/text/model_tokenizer.h"

#include <string_view>

#include "formats/model_file.h"
#include "hmoe_generated.h"
#include "runtime/text/bpe_tokenizer.h"
#include "runtime/text/sentencepiece_tokenizer.h"

namespace hmoe::text {

namespace {

std::vector<std::string> strings_of(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::vector<std::string> out;
  if (!v) return out;
  out.reserve(v->size());
  for (const flatbuffers::String* s : *v) out.emplace_back(s->data(), s->size());
  return out;
}

std::unique_ptr<Tokenizer> make_tokenizer(const fb::Tokenizer& t) {
  switch (t.kind()) {
    case fb::TokenizerKind::GPT2_BPE:
      return std::make_unique<BpeTokenizer>(strings_of(t.vocab()), strings_of(t.merges()), t.eos_id(), t.bos_id());
    case fb::TokenizerKind::SENTENCEPIECE: {
      if (!t.sp_model() || t.sp_model()->size() == 0)
        throw TokenizerError("kind SENTENCEPIECE without a SentencePiece model (sp_model is missing or empty)");
      if (t.merges() && t.merges()->size() > 0)
        throw TokenizerError("kind SENTENCEPIECE has merges, which only GPT2_BPE uses");
      const std::string_view model(reinterpret_cast<const char*>(t.sp_model()->data()), t.sp_model()->size());
      return std::make_unique<SentencePieceTokenizer>(model, strings_of(t.vocab()), t.eos_id(), t.bos_id(),
                                                      t.pad_id());
    }
    default:
      throw TokenizerError("kind " + std::to_string(static_cast<int>(t.kind())) +
                           " is not supported by this build (it knows GPT2_BPE and SENTENCEPIECE)");
  }
}

}  // namespace

std::unique_ptr<Tokenizer> load_model_tokenizer(const ModelFile& model) {
  const fb::Tokenizer* t = model.header().tokenizer();
  if (t == nullptr || t->kind() == fb::TokenizerKind::NONE) return nullptr;
  const std::string where = "'" + model.source() + "': tokenizer: ";
  const uint32_t model_vocab = model.header().hparams()->vocab_size();
  // GPT-2's vocabulary is known before anything is built: refuse an oversized one first.
  if (t->kind() == fb::TokenizerKind::GPT2_BPE && t->vocab() && t->vocab()->size() > model_vocab)
    throw TokenizerError(where + "has " + std::to_string(t->vocab()->size()) +
                         " tokens but the model's vocab_size is " + std::to_string(model_vocab));
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = make_tokenizer(*t);
  } catch (const TokenizerError& e) {
    throw TokenizerError(where + e.what());
  }
  if (static_cast<uint32_t>(tok->vocab_size()) > model_vocab)
    throw TokenizerError(where + "has " + std::to_string(tok->vocab_size()) +
                         " tokens but the model's vocab_size is " + std::to_string(model_vocab));
  return tok;
}

}  // namespace hmoe::text
