// The scalar references of linear()'s paths: plain loops, no SIMD, no threads, double
// accumulation, so they are the yardstick the tests hold every kernel to.
#include <stdexcept>
#include <string>
#include <vector>

#include "quant/half.h"

#include "runtime/kernels/linear.h"
#include "runtime/kernels/linear_check.h"
#include "runtime/kernels/linear_paths.h"
#include "runtime/kernels/linear_simd.h"

namespace hmoe::kernels {

void linear_reference(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y,
                      int64_t ldy) {
  check_linear_args(x, M, ldx, W, y, ldy);
  std::vector<float> row(W.cols);
  for (int64_t r = 0; r < W.rows; ++r) {
    dequantize_row(W, r, row.data());
    for (int64_t m = 0; m < M; ++m) {
      const float* xm = x + m * ldx;
      double acc = 0.0;
      for (int64_t c = 0; c < W.cols; ++c) acc += static_cast<double>(xm[c]) * row[c];
      y[m * ldy + r] = static_cast<float>(acc + (bias ? bias[r] : 0.0));
    }
  }
}

void linear_reference_int8(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias,
                           float* y, int64_t ldy) {
  check_linear_args(x, M, ldx, W, y, ldy);
  if (!dtype_is_quantized(W.dtype))
    throw std::invalid_argument(std::string("linear_reference_int8: ") + dtype_name(W.dtype) +
                                " weights have no int8 path");
  const int64_t K = W.cols, nb = K / kQuantBlock;
  QuantizedActivations xq;
  quantize_activations(x, M, ldx, K, &xq);
  std::vector<float> row(K);
  std::vector<int> wq(K);
  for (int64_t r = 0; r < W.rows; ++r) {
    // Integer codes and scales of the row: decode, then divide by the block scale
    // (exact, the codes are small integers).
    dequantize_row(W, r, row.data());
    const uint16_t* ws = W.row_scales(r);
    for (int64_t b = 0; b < nb; ++b) {
      const float s = quant::f16_to_f32(ws[b]);
      for (int64_t j = 0; j < kQuantBlock; ++j)
        wq[b * kQuantBlock + j] = s == 0.f ? 0 : static_cast<int>(row[b * kQuantBlock + j] / s);
    }
    for (int64_t m = 0; m < M; ++m) {
      double acc = 0.0;
      for (int64_t b = 0; b < nb; ++b) {
        int64_t dot = 0;
        for (int64_t j = b * kQuantBlock; j < (b + 1) * kQuantBlock; ++j) dot += wq[j] * xq.q[m * K + j];
        acc += static_cast<double>(dot) * quant::f16_to_f32(ws[b]) * xq.scale[m * nb + b];
      }
      y[m * ldy + r] = static_cast<float>(acc + (bias ? bias[r] : 0.0));
    }
  }
}

}  // namespace hmoe::kernels
