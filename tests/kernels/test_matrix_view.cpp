// MatrixView: slices of stacked tensors (block types are planar over the whole tensor),
// dequantize_row, and the argument errors of linear().
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "quant/block_formats.h"
#include "runtime/kernels/linear.h"
#include "runtime/kernels/linear_paths.h"

using namespace hmoe;

TEST_CASE("slice(i, n) of a stacked tensor is matrix i, for every dtype") {
  const int64_t n = 3, rows = 5, cols = 64;
  for (DType t : test::weight_dtypes()) {
    INFO(std::string(dtype_name(t)));
    // One [n, rows, cols] tensor encoded as n * rows rows: all quants, then all scales.
    auto stacked = test::random_matrix(t, rows, cols, 42, n);
    std::vector<float> whole(n * rows * cols);
    quant::decode_matrix(t, stacked.bytes.data(), n * rows, cols, whole.data());
    std::vector<float> row(cols);
    for (int64_t i = 0; i < n; ++i) {
      const kernels::MatrixView v = stacked.view.slice(i, n);
      for (int64_t r = 0; r < rows; ++r) {
        kernels::dequantize_row(v, r, row.data());
        for (int64_t c = 0; c < cols; ++c) REQUIRE(row[c] == whole[(i * rows + r) * cols + c]);
      }
      // linear() on the slice sees the same matrix (the float path: exact for a one-hot x).
      std::vector<float> x(cols, 0.f), y(rows);
      x[7] = 1.f;
      kernels::linear_with_path(kernels::LinearPath::Float, x.data(), 1, cols, v, nullptr, y.data(), rows);
      for (int64_t r = 0; r < rows; ++r) CHECK(y[r] == whole[(i * rows + r) * cols + 7]);
    }
    CHECK_THROWS_AS(stacked.view.slice(3, 3), std::invalid_argument);
    CHECK_THROWS_AS(stacked.view.slice(-1, 3), std::invalid_argument);
  }
}

TEST_CASE("linear() names bad arguments") {
  auto W = test::random_matrix(DType::F32, 4, 8, 1);
  std::vector<float> x(16), y(8);
  auto message = [&](auto&& fn) {
    try {
      fn();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message([&] { kernels::linear(x.data(), 1, 4, W.view, nullptr, y.data(), 4); }).find("ldx=4") !=
        std::string::npos);
  CHECK(message([&] { kernels::linear(x.data(), -1, 8, W.view, nullptr, y.data(), 4); }).find("M=-1") !=
        std::string::npos);
  kernels::MatrixView q = W.view;
  q.dtype = DType::Q8_0;
  q.cols = 40;
  CHECK(message([&] { kernels::linear(x.data(), 1, 40, q, nullptr, y.data(), 4); }).find("multiple of 32, got 40") !=
        std::string::npos);
  kernels::MatrixView i32 = W.view;
  i32.dtype = DType::I32;
  CHECK(message([&] { kernels::linear(x.data(), 1, 8, i32, nullptr, y.data(), 4); }).find("i32") != std::string::npos);
  // M = 0 is a no-op, even with null pointers.
  CHECK_NOTHROW(kernels::linear(nullptr, 0, 8, W.view, nullptr, nullptr, 4));
}
