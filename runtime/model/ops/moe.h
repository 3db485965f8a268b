// The experts of one MoE layer over a batch of tokens: each expert's tokens gathered,
// one pair of products per expert (a batch of rows rather than a row at a time), and
// each token's outputs weighted by its gate and added in ascending expert index.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/kernels/linear.h"
#include "runtime/model/weights.h"

namespace hmoe {

// The experts' activation: what linear_set applies inside the products' job.
using FfnActivation = kernels::Activation;

// R = the (token, expert) pairs of a call, grouped by expert.
struct MoeScratch {
  std::vector<int64_t> rows;       // [R]: each pair's token
  std::vector<float> row_gate;     // [R]: its gate
  std::vector<int64_t> active;     // the experts with tokens, ascending
  std::vector<int64_t> first;      // active[e]'s pairs are [first[e], first[e + 1])
  std::vector<float> gathered;     // [R, d]: the inputs
  std::vector<float> hidden;       // [R, f]: the hidden layers
  std::vector<float> expert_out;   // [R, d]: the experts' outputs
  std::vector<kernels::LinearArgs> products;
  // Sizes the buffers for at least T pairs (never shrinks them).
  void reserve(int64_t T, int64_t d, int64_t f);
};

// A two-layer FFN of its own run beside the experts, its products in the experts' jobs
// (a HyperExpert at decode: a job of its own would cost more to hand out than it saves).
// out[m] = act(x[m] w1^T + b1) w2^T + b2 for M rows; `hidden` holds M * w1.rows floats.
// Nothing is added to the experts' sum: the caller adds `out` where it belongs.
struct SideFfn {
  const float* x = nullptr;
  int64_t M = 0, ldx = 0;
  kernels::MatrixView w1, w2;
  const float* b1 = nullptr;
  const float* b2 = nullptr;
  FfnActivation act = FfnActivation::Relu;
  float* hidden = nullptr;
  float* out = nullptr;
};

// out[t] += sum over the token's k experts r (ascending, skipping -1) of
// gate * (act(x[t] fc_r^T + fc_bias_r) proj_r^T + proj_bias_r). x and out are [T, d].
// `side`, if given, is computed too, with the same bits as alone.
void moe_experts(const MoeWeights& w, int64_t n_experts, int64_t f, FfnActivation act, const float* x, int64_t T,
                 int64_t d, const int32_t* experts, const float* gates, int64_t k, float* out, MoeScratch& s,
                 const SideFfn* side = nullptr);

}  // namespace hmoe
