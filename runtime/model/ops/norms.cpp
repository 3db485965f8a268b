#include "runtime/model/ops/norms.h"

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

void rms_norm(const float* x, int64_t M, int64_t d, const float* w, float eps, float* y) {
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

}  // namespace hmoe
