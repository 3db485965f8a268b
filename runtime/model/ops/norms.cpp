// The norms run as the kernels' Highway versions (runtime/kernels/row_ops.h), each
// checked there against a scalar reference on every SIMD target.
#include "runtime/model/ops/norms.h"

#include "runtime/kernels/row_ops.h"

namespace hmoe {

void layer_norm(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps, float* y) {
  kernels::layer_norm(x, M, d, w, b, eps, y);
}

void rms_norm(const float* x, int64_t M, int64_t d, const float* w, float eps, float* y) {
  kernels::rms_norm(x, M, d, w, eps, y);
}

}  // namespace hmoe
