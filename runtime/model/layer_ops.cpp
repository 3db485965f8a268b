#include "runtime/model/layer_ops.h"

#include <algorithm>
#include <cmath>

#include "runtime/kernels/row_ops.h"

namespace hmoe {

void layer_norm(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps, float* y) {
  kernels::layer_norm(x, M, d, w, b, eps, y);
}

void gelu_new_inplace(float* x, int64_t n) { kernels::gelu_new(x, n); }

void softmax_inplace(float* x, int64_t n) { kernels::softmax(x, n); }

void route_top_k(const float* gate_logits, int64_t N, int64_t k, int32_t* experts, float* gates, float* p) {
  std::copy(gate_logits, gate_logits + N, p);
  softmax_inplace(p, N);
  // Selection by repeated arg-max keeps ties deterministic (lower index wins).
  bool taken[64] = {};
  for (int64_t s = 0; s < k; ++s) {
    int64_t best = -1;
    for (int64_t j = 0; j < N; ++j)
      if (!taken[j] && (best < 0 || p[j] > p[best])) best = j;
    taken[best] = true;
  }
  double sum = 0;
  for (int64_t j = 0, s = 0; j < N; ++j)
    if (taken[j]) {
      experts[s++] = static_cast<int32_t>(j);
      sum += p[j];
    }
  for (int64_t s = 0; s < k; ++s) gates[s] = static_cast<float>(p[experts[s]] / sum);
}

}  // namespace hmoe
