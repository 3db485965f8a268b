// The HyperExpert of a (layer, selection pattern): the adapter A(x) = relu(x Wd + bd) Wu + bu
// whose weights the shared hypernetwork generates from the embeddings of the experts
// the pattern does NOT select (DESIGN.md §1).
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/kernels/linear.h"
#include "runtime/model/hparams.h"
#include "runtime/model/weights.h"

namespace hmoe {

// Kernel-ready weights of one HyperExpert, stored [out, in]: down = Wd^T [b, d],
// up = Wu^T [d, b]. The pointers refer to an owning HyperExpert or to baked tables.
struct HyperExpertView {
  kernels::MatrixView down;
  const float* down_bias = nullptr;  // [b]
  kernels::MatrixView up;
  const float* up_bias = nullptr;    // [d]
};

struct HyperExpert {
  std::vector<float> down, down_bias, up, up_bias;
  HyperExpertView view() const;
  size_t bytes() const;
};

// Bytes one generated HyperExpert takes in f32.
size_t hyper_expert_bytes(const HParams& hp);

// Runs the hypernetwork for `layer` and the ascending `experts` (k of them).
// `scratch` is reused between calls to avoid allocation on the per-token path.
void generate_hyper_expert(const HParams& hp, const ModelWeights& w, int64_t layer,
                           const int32_t* experts, HyperExpert* out, std::vector<float>* scratch);

// out[m, :] = A(x[m, :]) for M rows of x (ld = n_embd); `hidden` holds M*b floats.
void apply_hyper_expert(const HyperExpertView& he, const float* x, int64_t M, int64_t d,
                        float* out, float* hidden);

}  // namespace hmoe
