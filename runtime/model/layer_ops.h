// Small per-row operations of the GPT-2 block (LayerNorm, gelu_new, softmax, routing).
// Each row is computed in a fixed order so results do not depend on threads.
#pragma once
#include <cstdint>

namespace hmoe {

// y = (x - mean) / sqrt(var + eps) * w + b over each of M rows of length d.
void layer_norm(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps, float* y);

// GPT-2's gelu_new (tanh approximation), in place.
void gelu_new_inplace(float* x, int64_t n);

// In-place softmax of n values.
void softmax_inplace(float* x, int64_t n);

// Router of one token: softmax over all N gate logits, the top k (ties go to the lower
// index), their probabilities renormalised to sum 1. Writes the k experts in ascending
// order with their gates.
void route_top_k(const float* gate_logits, int64_t n_experts, int64_t k, int32_t* experts, float* gates,
                 float* scratch);

}  // namespace hmoe
