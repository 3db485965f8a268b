// Matrix products of the model: y = x W^T + b with W stored [rows=out, cols=in] in any
// dtype of the file (f32, f16, bf16, q8_0, q4_0), x and y f32.
// This is the coarse entry point that dispatches to a SIMD target once per product.
#pragma once
#include <cstdint>

#include "formats/dtype.h"

namespace hmoe::kernels {

// A weight matrix as it lies in the file (or in a repacked buffer owned elsewhere).
// For block types the quants come first and the f16 scales follow (formats/hmoe.fbs).
struct MatrixView {
  DType dtype = DType::F32;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
  const void* data = nullptr;

  // The view of matrix `i` of a stacked [n, rows, cols] tensor whose first matrix is *this.
  MatrixView slice(int64_t i, int64_t n) const;
  int64_t bytes() const;
};

// y[m, r] = sum_c x[m, c] * W[r, c] + (bias ? bias[r] : 0), for m < M.
// x is [M, ldx] with ldx >= cols, y is [M, ldy] with ldy >= rows (row-major).
// Threads: OpenMP over output rows within the caller's team size; every output is
// summed in the same order whatever the thread count, so results do not depend on it.
// Throws std::invalid_argument on inconsistent arguments.
void linear(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias,
            float* y, int64_t ldy);
inline void linear(const float* x, int64_t M, const MatrixView& W, const float* bias, float* y) {
  linear(x, M, W.cols, W, bias, y, W.rows);
}

// Plain scalar reference of linear(), for tests: no SIMD, no threads.
void linear_reference(const float* x, int64_t M, int64_t ldx, const MatrixView& W,
                      const float* bias, float* y, int64_t ldy);

// Row r of W dequantised to f32 (cols values).
void dequantize_row(const MatrixView& W, int64_t r, float* out);

}  // namespace hmoe::kernels
