#include "kernel_test_util.h"

#include <cmath>
#include <random>

#include "quant/block_formats.h"

namespace hmoe::test {

std::vector<float> random_vector(int64_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  // Outliers make block scales differ a lot from block to block.
  for (int64_t i = 0; i < n; i += 97) v[i] *= 8.f;
  return v;
}

EncodedMatrix random_matrix(DType dtype, int64_t rows, int64_t cols, uint32_t seed, int64_t stack) {
  const std::vector<float> w = random_vector(stack * rows * cols, seed);
  EncodedMatrix m;
  m.bytes.resize(storage_bytes(dtype, {stack * rows, cols}));
  quant::encode_matrix(dtype, w.data(), stack * rows, cols, m.bytes.data());
  m.view.dtype = dtype;
  m.view.rows = rows;
  m.view.cols = cols;
  m.view.data = m.bytes.data();
  return m;
}

std::vector<double> abs_products(const float* x, int64_t M, int64_t ldx, const kernels::MatrixView& W,
                                 const float* bias, int64_t ldy) {
  std::vector<double> out(M * ldy, 0.0);
  std::vector<float> row(W.cols);
  for (int64_t r = 0; r < W.rows; ++r) {
    kernels::dequantize_row(W, r, row.data());
    for (int64_t m = 0; m < M; ++m) {
      double s = bias ? std::fabs(bias[r]) : 0.0;
      for (int64_t c = 0; c < W.cols; ++c) s += std::fabs(static_cast<double>(row[c]) * x[m * ldx + c]);
      out[m * ldy + r] = s;
    }
  }
  return out;
}

Excess worst(const std::vector<float>& a, const std::vector<float>& b, const std::vector<double>& bound, int64_t M,
             int64_t rows, int64_t ldy) {
  Excess e;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = m * ldy + r;
      const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
      const double ratio = std::isnan(d) ? INFINITY : (bound[i] > 0 ? d / bound[i] : (d > 0 ? INFINITY : 0.0));
      if (ratio > e.ratio || e.m < 0) {
        e.ratio = ratio;
        e.m = m;
        e.r = r;
      }
    }
  return e;
}

std::string Excess::str() const {
  return "error/bound " + std::to_string(ratio) + " at input " + std::to_string(m) + ", row " + std::to_string(r);
}

const std::vector<DType>& weight_dtypes() {
  static const std::vector<DType> v{DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};
  return v;
}

}  // namespace hmoe::test
