#include "runtime/model/layer_ops.h"

#include <algorithm>
#include <cmath>

namespace hmoe {

void layer_norm(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps, float* y) {
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * d;
    float* yr = y + m * d;
    double mean = 0;
    for (int64_t i = 0; i < d; ++i) mean += xr[i];
    mean /= d;
    double var = 0;
    for (int64_t i = 0; i < d; ++i) {
      const double c = xr[i] - mean;
      var += c * c;
    }
    var /= d;
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float mu = static_cast<float>(mean);
    for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mu) * inv * w[i] + b[i];
  }
}

void gelu_new_inplace(float* x, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2 / pi)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.f + std::tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void softmax_inplace(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

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
