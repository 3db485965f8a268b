#include "formats/model_header.h"

namespace hmoe {

std::string arch_name(Arch a) {
  switch (a) {
    case Arch::Gpt2HyperMoE: return "GPT2_HYPERMOE";
    case Arch::SwitchHyperMoE: return "SWITCH_HYPERMOE";
  }
  return "unknown (" + std::to_string(static_cast<int>(a)) + ")";
}

std::string tokenizer_kind_name(TokenizerKind k) {
  switch (k) {
    case TokenizerKind::None: return "NONE";
    case TokenizerKind::Gpt2Bpe: return "GPT2_BPE";
    case TokenizerKind::SentencePiece: return "SENTENCEPIECE";
  }
  return "unknown (" + std::to_string(static_cast<int>(k)) + ")";
}

std::string ModelHeader::metadata_value(const std::string& key, const std::string& fallback) const {
  for (const auto& kv : metadata)
    if (kv.first == key) return kv.second;
  return fallback;
}

bool ModelHeader::has_metadata(const std::string& key) const {
  for (const auto& kv : metadata)
    if (kv.first == key) return true;
  return false;
}

void ModelHeader::set_metadata(const std::string& key, const std::string& value) {
  for (auto& kv : metadata)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  metadata.emplace_back(key, value);
}

}  // namespace hmoe
