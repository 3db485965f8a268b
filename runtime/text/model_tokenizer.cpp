#include "runtime/text/model_tokenizer.h"

#include <string_view>

#include "formats/model_file.h"
#include "runtime/text/bpe_tokenizer.h"
#include "runtime/text/sentencepiece_tokenizer.h"

namespace hmoe::text {

namespace {

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerData& t) {
  switch (t.kind) {
    case TokenizerKind::Gpt2Bpe: return std::make_unique<BpeTokenizer>(t.vocab, t.merges, t.eos_id, t.bos_id);
    case TokenizerKind::SentencePiece: {
      if (t.sp_model.empty())
        throw TokenizerError("kind SENTENCEPIECE without a SentencePiece model (sp_model is missing or empty)");
      if (!t.merges.empty()) throw TokenizerError("kind SENTENCEPIECE has merges, which only GPT2_BPE uses");
      const std::string_view model(reinterpret_cast<const char*>(t.sp_model.data()), t.sp_model.size());
      return std::make_unique<SentencePieceTokenizer>(model, t.vocab, t.eos_id, t.bos_id, t.pad_id);
    }
    default:
      throw TokenizerError("kind " + std::to_string(static_cast<int>(t.kind)) +
                           " is not supported by this build (it knows GPT2_BPE and SENTENCEPIECE)");
  }
}

}  // namespace

std::unique_ptr<Tokenizer> load_model_tokenizer(const ModelFile& model) {
  const TokenizerData& t = model.header().tokenizer;
  if (t.kind == TokenizerKind::None) return nullptr;
  const std::string where = "'" + model.source() + "': tokenizer: ";
  const int64_t model_vocab = model.header().hparams.vocab_size;
  // GPT-2's vocabulary is known before anything is built: refuse an oversized one first.
  if (t.kind == TokenizerKind::Gpt2Bpe && static_cast<int64_t>(t.vocab.size()) > model_vocab)
    throw TokenizerError(where + "has " + std::to_string(t.vocab.size()) + " tokens but the model's vocab_size is " +
                         std::to_string(model_vocab));
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = make_tokenizer(t);
  } catch (const TokenizerError& e) {
    throw TokenizerError(where + e.what(), e.status());
  }
  if (tok->vocab_size() > model_vocab)
    throw TokenizerError(where + "has " + std::to_string(tok->vocab_size()) + " tokens but the model's vocab_size is " +
                         std::to_string(model_vocab));
  return tok;
}

}  // namespace hmoe::text
