// Portable implementation of linear(): dequantise a row, dot it with every input row.
// The SIMD kernels (Highway) replace the body for the hot dtypes; this stays as the
// fallback and as the scalar reference the tests compare them against.
#include "runtime/kernels/linear.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/kernels/half.h"

namespace hmoe::kernels {

MatrixView MatrixView::slice(int64_t i, int64_t n) const {
  if (i < 0 || i >= n) throw std::invalid_argument("matrix slice " + std::to_string(i) + " of " + std::to_string(n));
  MatrixView v = *this;
  v.data = static_cast<const uint8_t*>(data) + i * bytes();
  return v;
}

int64_t MatrixView::bytes() const { return storage_bytes(dtype, {rows, cols}); }

void dequantize_row(const MatrixView& W, int64_t r, float* out) {
  const int64_t K = W.cols;
  switch (W.dtype) {
    case DType::F32:
      std::memcpy(out, static_cast<const float*>(W.data) + r * K, K * sizeof(float));
      return;
    case DType::F16: {
      const uint16_t* p = static_cast<const uint16_t*>(W.data) + r * K;
      for (int64_t c = 0; c < K; ++c) out[c] = f16_to_f32(p[c]);
      return;
    }
    case DType::BF16: {
      const uint16_t* p = static_cast<const uint16_t*>(W.data) + r * K;
      for (int64_t c = 0; c < K; ++c) out[c] = bf16_to_f32(p[c]);
      return;
    }
    case DType::Q8_0: {
      const int8_t* q = static_cast<const int8_t*>(W.data) + r * K;
      const uint16_t* s = reinterpret_cast<const uint16_t*>(static_cast<const int8_t*>(W.data) + W.rows * K) +
                          r * (K / kQuantBlock);
      for (int64_t c = 0; c < K; ++c) out[c] = q[c] * f16_to_f32(s[c / kQuantBlock]);
      return;
    }
    case DType::Q4_0: {
      const uint8_t* q = static_cast<const uint8_t*>(W.data) + r * K / 2;
      const uint16_t* s = reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(W.data) + W.rows * K / 2) +
                          r * (K / kQuantBlock);
      for (int64_t blk = 0; blk < K / kQuantBlock; ++blk) {
        const float d = f16_to_f32(s[blk]);
        const uint8_t* b = q + blk * 16;
        for (int j = 0; j < 16; ++j) {
          out[blk * 32 + j] = (static_cast<int>(b[j] & 0x0F) - 8) * d;
          out[blk * 32 + j + 16] = (static_cast<int>(b[j] >> 4) - 8) * d;
        }
      }
      return;
    }
    case DType::I32:
      break;
  }
  throw std::invalid_argument(std::string("linear: unsupported weight dtype ") + dtype_name(W.dtype));
}

static void check_args(const float* x, int64_t M, int64_t ldx, const MatrixView& W, float* y, int64_t ldy) {
  if (M < 0 || W.rows <= 0 || W.cols <= 0)
    throw std::invalid_argument("linear: bad sizes M=" + std::to_string(M) + " rows=" + std::to_string(W.rows) +
                                " cols=" + std::to_string(W.cols));
  if (ldx < W.cols || ldy < W.rows)
    throw std::invalid_argument("linear: leading dimensions ldx=" + std::to_string(ldx) + " ldy=" +
                                std::to_string(ldy) + " smaller than cols=" + std::to_string(W.cols) +
                                " rows=" + std::to_string(W.rows));
  if (M > 0 && (!x || !y || !W.data)) throw std::invalid_argument("linear: null pointer");
  if (W.bytes() < 0)
    throw std::invalid_argument(std::string("linear: ") + dtype_name(W.dtype) + " needs cols a multiple of 32, got " +
                                std::to_string(W.cols));
}

void linear_reference(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y,
                      int64_t ldy) {
  check_args(x, M, ldx, W, y, ldy);
  std::vector<float> row(W.cols);
  for (int64_t r = 0; r < W.rows; ++r) {
    dequantize_row(W, r, row.data());
    for (int64_t m = 0; m < M; ++m) {
      const float* xm = x + m * ldx;
      float acc = 0.f;
      for (int64_t c = 0; c < W.cols; ++c) acc += xm[c] * row[c];
      y[m * ldy + r] = acc + (bias ? bias[r] : 0.f);
    }
  }
}

void linear(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y, int64_t ldy) {
  check_args(x, M, ldx, W, y, ldy);
  if (M == 0) return;
  const int64_t K = W.cols;
#pragma omp parallel
  {
    std::vector<float> row(W.dtype == DType::F32 ? 0 : K);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < W.rows; ++r) {
      const float* w = W.dtype == DType::F32 ? static_cast<const float*>(W.data) + r * K : row.data();
      if (W.dtype != DType::F32) dequantize_row(W, r, row.data());
      for (int64_t m = 0; m < M; ++m) {
        const float* xm = x + m * ldx;
        // Eight partial sums let the compiler vectorise without -ffast-math; the order
        // is fixed, so the result does not depend on threads.
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t c = 0;
        for (; c + 8 <= K; c += 8)
          for (int j = 0; j < 8; ++j) acc[j] += xm[c + j] * w[c + j];
        float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (; c < K; ++c) s += xm[c] * w[c];
        y[m * ldy + r] = s + (bias ? bias[r] : 0.f);
      }
    }
  }
}

}  // namespace hmoe::kernels
