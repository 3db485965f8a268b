// Architecture hyper-parameters of a GPT-2 HyperMoE model, read from the file header
// and checked for consistency before any tensor shape is derived from them.
#pragma once
#include <cstdint>
#include <string>

namespace hmoe {
class ModelFile;

struct HParams {
  int64_t vocab_size = 0;
  int64_t n_positions = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  float layer_norm_epsilon = 1e-5f;
  int64_t n_experts = 0;
  int64_t top_k = 0;
  bool use_hypernet = false;
  int64_t experts_embedding_dim = 0;    // e
  int64_t process_dim = 0;
  int64_t hypernet_input = 0;
  int64_t hypernetwork_bottleneck = 0;  // H
  int64_t layer_emb_dim = 0;
  int64_t adapter_dim = 0;              // b

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t ffn_dim() const { return 4 * n_embd; }

  // Throws FormatError naming the first inconsistent value.
  static HParams from_file(const ModelFile& file);
  void validate() const;
};

// Limits this runtime accepts; beyond them a file is refused rather than trusted.
constexpr int64_t kMaxExperts = 64;
constexpr int64_t kMaxDim = 1 << 16;
constexpr int64_t kMaxVocab = 1 << 22;
constexpr int64_t kMaxPositions = 1 << 20;
constexpr int64_t kMaxLayers = 1024;

}  // namespace hmoe
