// Random weights and inputs for the kernel tests, and the error bounds they assert.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "formats/dtype.h"
#include "runtime/kernels/linear.h"

namespace hmoe::test {

// A matrix encoded in `dtype` from N(0, 1) weights (with a few large outliers).
struct EncodedMatrix {
  std::vector<uint8_t> bytes;
  kernels::MatrixView view;
};
EncodedMatrix random_matrix(DType dtype, int64_t rows, int64_t cols, uint32_t seed, int64_t stack = 1);
std::vector<float> random_vector(int64_t n, uint32_t seed, float scale = 1.f);

// sum_c |W[r, c] * x[m, c]| + |bias[r]| for every output: the scale of the rounding error.
std::vector<double> abs_products(const float* x, int64_t M, int64_t ldx, const kernels::MatrixView& W,
                                 const float* bias, int64_t ldy);

// Largest |a - b| / bound over the outputs (<= 1 passes), and where.
struct Excess {
  double ratio = 0;
  int64_t m = -1, r = -1;
  std::string str() const;
};
Excess worst(const std::vector<float>& a, const std::vector<float>& b, const std::vector<double>& bound,
             int64_t M, int64_t rows, int64_t ldy);

// The dtypes of the file that linear() takes.
const std::vector<DType>& weight_dtypes();

}  // namespace hmoe::test
