// Activation functions and the softmax, as the kernels' Highway versions
// (runtime/kernels/row_ops.h: each output computed one fixed way, so results do not
// depend on threads; each checked against a scalar reference on every SIMD target).
#include "runtime/model/ops/elementwise.h"

#include "runtime/kernels/row_ops.h"

namespace hmoe {

void gelu_new_inplace(float* x, int64_t n) { kernels::gelu_new(x, n); }

void softmax_inplace(float* x, int64_t n) { kernels::softmax(x, n); }

void relu_inplace(float* x, int64_t n) { kernels::relu(x, n); }

}  // namespace hmoe
