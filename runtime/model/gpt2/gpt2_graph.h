// GPT-2 HyperMoE's forward pass: token and position embeddings, then per block a causal
// self-attention and an MoE layer (top-k routing, experts, HyperExpert), then the final
// norm and the tied LM head.
#pragma once
#include <memory>
#include <vector>

#include "runtime/model/activations.h"
#include "runtime/model/graph.h"
#include "runtime/model/session.h"

namespace hmoe {

struct Gpt2Weights;

class Gpt2Graph : public Graph {
 public:
  Gpt2Graph(std::shared_ptr<const Model> model, const SessionOptions& opts);
  void eval(const int32_t* ids, int64_t T, int64_t n_past, float* logits, bool all_positions) override;
  uint64_t decode_kv_bytes(int64_t n_past) const override;

 private:
  void attention(int64_t layer, int64_t T, int64_t n_past);
  void moe(int64_t layer, int64_t T);

  std::shared_ptr<const Model> model_;
  const Gpt2Weights& w_;
  HyperMode hyper_mode_;
  int64_t n_ctx_;
  std::vector<float> k_cache_, v_cache_;  // [L, n_ctx, n_head * head_dim]: position-major (KvView)
  Activations act_;
};

}  // namespace hmoe
