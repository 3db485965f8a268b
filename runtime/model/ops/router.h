// Routers: per token, which experts an MoE layer runs, with what weight, and the
// selection pattern (hyper/selection_pattern.h) that keys the token's HyperExpert. The
// pattern is computed here, once per token, and handed to the HyperExpert cache.
#pragma once
#include <cstdint>
#include <vector>

namespace hmoe {

// One layer's routing of T tokens: k experts per token, ascending.
struct Routing {
  std::vector<int32_t> experts;   // [T, k]; -1: the token was dropped (over capacity)
  std::vector<float> gates;       // [T, k]: the weight of each expert's output
  std::vector<uint64_t> patterns; // [T]: the selection pattern (before any capacity rule)
  std::vector<float> probs;       // scratch: one token's router probabilities

  void reserve(int64_t T, int64_t k, int64_t n_experts);
};

// GPT-2 HyperMoE (the authors' gpt-2-moe): softmax over all N gate logits, the top k
// (ties go to the lower index), their probabilities renormalised to sum 1. Writes the k
// experts in ascending order with their gates.
void route_top_k(const float* gate_logits, int64_t n_experts, int64_t k, int32_t* experts, float* gates,
                 float* scratch);
// route_top_k for each of T tokens ([T, N] logits), with their patterns.
void route_tokens_top_k(const float* gate_logits, int64_t T, int64_t n_experts, int64_t k, Routing& r);

// Switch Transformer (the authors' switch_transformer): softmax in f32, the argmax
// (first index on ties), its probability pmax as the gate (not renormalised), and an
// expert capacity: walking the T tokens of one call in position order, a token whose
// expert already took `capacity` tokens of this call is dropped (expert -1, gate pmax:
// it passes its input through, scaled). The pattern is the argmax even when dropped.
void route_tokens_top1_capacity(const float* gate_logits, int64_t T, int64_t n_experts, int64_t capacity,
                                Routing& r);

}  // namespace hmoe
