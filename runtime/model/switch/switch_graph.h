// Switch Transformer HyperMoE's forward passes. encode(): the encoder stack over the
// input once, then every decoder block's cross-attention keys and values from its
// output. eval(): the decoder over the new tokens, with a self-attention cache. Expert
// capacity counts the tokens of each call, as the authors' code does.
#pragma once
#include <memory>
#include <vector>

#include "runtime/model/activations.h"
#include "runtime/model/graph.h"
#include "runtime/model/ops/attention.h"
#include "runtime/model/session.h"

namespace hmoe {

struct SwitchWeights;
struct SwitchBlock;

class SwitchGraph : public Graph {
 public:
  SwitchGraph(std::shared_ptr<const Model> model, const SessionOptions& opts);
  void encode(const int32_t* ids, int64_t T) override;
  void eval(const int32_t* ids, int64_t T, int64_t n_past, float* logits, bool all_positions) override;
  int64_t n_encoded() const override { return n_encoded_; }
  uint64_t decode_kv_bytes(int64_t n_past) const override;

 private:
  void embed(const int32_t* ids, int64_t T);
  // h += self-attention of the T tokens at positions [q_pos0, q_pos0 + T): the encoder
  // (no cache: its keys are this call's), or the decoder over its cache (causal).
  void self_attention(const SwitchBlock& b, int64_t T, int64_t q_pos0, float* k_cache, float* v_cache, bool causal);
  void cross_attention(const SwitchBlock& b, int64_t block, int64_t T);
  void feed_forward(const SwitchBlock& b, int64_t T);
  void check(int64_t T, const char* stack, int64_t block) const;

  std::shared_ptr<const Model> model_;
  const SwitchWeights& w_;
  HyperMode hyper_mode_;
  int64_t n_ctx_, inner_;
  PositionBias enc_bias_, dec_bias_;
  // Position-major caches (KvView): a position's keys of every head side by side.
  std::vector<float> self_k_, self_v_;  // [dec blocks, n_ctx, n_head * d_kv]
  std::vector<float> cross_kv_;         // [dec blocks, k | v, n_encoded, n_head * d_kv]
  std::vector<float> cross_rows_;       // one block's cross k | v rows as the product gives them: [n_encoded, 2 * inner]
  std::vector<float> enc_out_;          // [n_encoded, d]
  int64_t n_encoded_ = 0;
  Activations act_;
};

}  // namespace hmoe
