// Scalar references of row_ops.h: what the graph computed before these kernels, plain
// loops over libm.
#include <algorithm>
#include <cmath>

#include "runtime/kernels/row_ops.h"

namespace hmoe::kernels {

void gelu_new_reference(float* x, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2 / pi)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.f + std::tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void relu_reference(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.f);
}

void softmax_reference(float* x, int64_t n) {
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

void layer_norm_reference(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps,
                          float* y) {
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

void rms_norm_reference(const float* x, int64_t M, int64_t d, const float* w, float eps, float* y) {
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * d;
    float* yr = y + m * d;
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float var = static_cast<float>(ss / static_cast<double>(d));
    const float inv = 1.f / std::sqrt(var + eps);
    for (int64_t i = 0; i < d; ++i) yr[i] = w[i] * (xr[i] * inv);
  }
}

void attention_head_reference(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t hd,
                              float scale, float* out, float* scores, const float* bias) {
  for (int64_t j = 0; j < n; ++j) {
    const float* kj = k + j * ld;
    float s = 0.f;
    for (int64_t c = 0; c < hd; ++c) s += q[c] * kj[c];
    scores[j] = s * scale;
  }
  if (bias)
    for (int64_t j = 0; j < n; ++j) scores[j] += bias[j];
  softmax_reference(scores, n);
  std::fill(out, out + hd, 0.f);
  for (int64_t j = 0; j < n; ++j) {
    const float* vj = v + j * ld;
    const float p = scores[j];
    for (int64_t c = 0; c < hd; ++c) out[c] += p * vj[c];
  }
}

void attention_heads_reference(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t n_heads,
                               int64_t hd, float scale, float* out, float* scores, const float* bias) {
  for (int64_t h = 0; h < n_heads; ++h)
    attention_head_reference(q + h * hd, k + h * hd, v + h * hd, ld, n, hd, scale, out + h * hd, scores + h * n,
                             bias ? bias + h * n : nullptr);
}

}  // namespace hmoe::kernels
