// The tokenizer a .hmoe file carries in its header (formats/hmoe.fbs, table Tokenizer).
#pragma once
#include <memory>

#include "runtime/text/bpe_tokenizer.h"

namespace hmoe {
class ModelFile;
}

namespace hmoe::text {

// The model's tokenizer, or nullptr when it has none (kind NONE or no table): such a
// model accepts token ids only. Throws TokenizerError for a kind this build does not
// know, a vocabulary larger than the model's vocab_size, or bad tokenizer data.
std::unique_ptr<BpeTokenizer> load_model_tokenizer(const ModelFile& model);

}  // namespace hmoe::text
