// What a .hmoe header says, in the project's own types: the reader fills it from the
// FlatBuffer, the writer packs it back, and nothing outside formats/ sees FlatBuffers.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "formats/hparams.h"

namespace hmoe {

// Values of the schema's enum Arch. A header may carry a value this build does not know;
// the reader keeps it and the runtime refuses it by number.
enum class Arch : uint8_t {
  Gpt2HyperMoE = 0,    // GPT2_HYPERMOE
  SwitchHyperMoE = 1,  // SWITCH_HYPERMOE
};
// The schema's name ("GPT2_HYPERMOE"), or "unknown (N)".
std::string arch_name(Arch a);

// Values of the schema's enum TokenizerKind.
enum class TokenizerKind : uint8_t {
  None = 0,           // NONE: token ids only
  Gpt2Bpe = 1,        // GPT2_BPE
  SentencePiece = 2,  // SENTENCEPIECE
};
std::string tokenizer_kind_name(TokenizerKind k);

struct TokenizerData {
  TokenizerKind kind = TokenizerKind::None;
  std::vector<std::string> vocab;   // GPT2_BPE: vocab[id], in GPT-2's byte-to-unicode spelling
  std::vector<std::string> merges;  // GPT2_BPE: "left right", in rank order
  int32_t eos_id = -1;
  int32_t bos_id = -1;
  int32_t pad_id = -1;
  std::vector<uint8_t> sp_model;    // SENTENCEPIECE: the serialized model (spiece.model)
};

struct ModelHeader {
  Arch arch = Arch::Gpt2HyperMoE;
  HParams hparams;
  TokenizerData tokenizer;
  std::vector<std::pair<std::string, std::string>> metadata;  // in file order
  // The per-(layer, selection pattern) HyperExpert tables are stored in the file, so the
  // hypernetwork's tensors may be absent (formats/TENSORS.md).
  bool hyper_baked = false;

  // The value of `key`, or `fallback` when absent.
  std::string metadata_value(const std::string& key, const std::string& fallback = "") const;
  bool has_metadata(const std::string& key) const;
  // Replaces the value of `key`, or appends it.
  void set_metadata(const std::string& key, const std::string& value);
};

}  // namespace hmoe
