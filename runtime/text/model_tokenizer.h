// The tokenizer a .hmoe file carries in its header (formats/hmoe.fbs, table Tokenizer).
#pragma once
#include <memory>

#include "runtime/text/tokenizer.h"

namespace hmoe {
class ModelFile;
}

namespace hmoe::text {

// The model's tokenizer, or nullptr when it has none (kind NONE or no table): such a
// model accepts token ids only.
//  - GPT2_BPE: a BpeTokenizer of the table's vocab, merges, eos_id and bos_id;
//  - SENTENCEPIECE: a SentencePieceTokenizer of the table's sp_model (the bytes of
//    spiece.model), its vocab as the tokens added after the model's pieces (T5's
//    sentinels), eos_id, bos_id and pad_id.
// Throws TokenizerError, naming the file, for a kind this build does not know, a
// vocabulary larger than the model's vocab_size, or bad tokenizer data (a missing or
// corrupt sp_model included): the file is bad.
std::unique_ptr<Tokenizer> load_model_tokenizer(const ModelFile& model);

}  // namespace hmoe::text
