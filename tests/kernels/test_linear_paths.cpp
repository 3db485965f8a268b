// Every path of linear() against its scalar reference, for every SIMD target compiled
// in and runnable here (each forced in turn), every weight dtype, batch sizes
// {1, 3, 16, 33}, and sizes that are and are not multiples of the vector width.
//
// Tolerances (u = 2^-24, S = sum_c |W[r,c] x[m,c]| + |bias[r]|):
//   float path, oneDNN f32  vs linear_reference:      (K + 2) u S   (any summation order)
//   int8 path vs linear_reference_int8 (same codes):  (K/32 + 24) u S8, S8 the same sum
//                                                     over the quantised activations
//   int8 path vs linear_reference (f32 activations):  sum_c |W[r,c]| sx_b / 2 + (K + 2) u S
//                                                     (each activation is off by at most
//                                                     half its block's step sx_b)
//   oneDNN bf16 vs linear_reference:                  (2^-8 + (K + 2) u) S  (inputs are
//                                                     rounded to bf16: 2^-8 relative at most)
//   oneDNN f16/q8/q4 (bf16 panels) vs reference:      (2.01 * 2^-8 + (K + 2) u) S  (inputs
//                                                     and decoded weights rounded to bf16)
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "quant/half.h"
#include "runtime/kernels/linear_paths.h"
#include "runtime/kernels/linear_simd.h"
#include "runtime/kernels/simd_target.h"

using namespace hmoe;
using kernels::LinearPath;

namespace {

constexpr double kU = 1.0 / (1 << 24);

struct Shape {
  int64_t rows, cols;
};

std::vector<Shape> shapes_for(DType t) {
  if (dtype_is_quantized(t)) return {{1, 32}, {5, 96}, {8, 64}, {13, 256}, {37, 128}};
  return {{1, 3}, {5, 16}, {8, 40}, {13, 77}, {37, 256}, {4, 33}};
}

const int64_t kBatches[] = {1, 3, 16, 33};

// Calls fn once per runnable SIMD target, forced; restores automatic choice after.
void for_each_target(const std::function<void(const std::string&)>& fn) {
  const auto targets = kernels::simd_supported_targets();
  REQUIRE(!targets.empty());
  for (const std::string& t : targets) {
    kernels::simd_force_target(t);
    REQUIRE(kernels::simd_active_target() == t);
    fn(t);
  }
  kernels::simd_force_target("auto");
}

struct Problem {
  DType dtype;
  Shape s;
  int64_t M, ldx, ldy;
  bool bias;
  test::EncodedMatrix W;
  std::vector<float> x, b;

  Problem(DType t, Shape sh, int64_t m, uint32_t seed)
      : dtype(t), s(sh), M(m), ldx(sh.cols + (seed % 2 ? 3 : 0)), ldy(sh.rows + (seed % 3 ? 0 : 2)),
        bias(seed % 4 != 1) {
    W = test::random_matrix(t, s.rows, s.cols, seed);
    x = test::random_vector(M * ldx, seed + 1000, 0.5f);
    b = test::random_vector(s.rows, seed + 2000);
  }
  const float* bias_ptr() const { return bias ? b.data() : nullptr; }
  std::vector<float> out() const { return std::vector<float>(M * ldy, -7.f); }
  std::string str() const {
    return std::string(dtype_name(dtype)) + " " + std::to_string(s.rows) + "x" + std::to_string(s.cols) +
           " M=" + std::to_string(M) + " ldx=" + std::to_string(ldx) + " ldy=" + std::to_string(ldy) +
           (bias ? " bias" : "");
  }
  std::vector<float> run(LinearPath p) const {
    auto y = out();
    kernels::linear_with_path(p, x.data(), M, ldx, W.view, bias_ptr(), y.data(), ldy);
    return y;
  }
  std::vector<float> reference() const {
    auto y = out();
    kernels::linear_reference(x.data(), M, ldx, W.view, bias_ptr(), y.data(), ldy);
    return y;
  }
  std::vector<double> float_bound(double rel) const {
    auto S = test::abs_products(x.data(), M, ldx, W.view, bias_ptr(), ldy);
    for (double& v : S) v *= rel;
    return S;
  }
};

std::string hex16(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

// Padding between rows of y (ldy > rows) must not be written.
void check_padding(const std::vector<float>& y, const Problem& p) {
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t r = p.s.rows; r < p.ldy; ++r) REQUIRE(y[m * p.ldy + r] == -7.f);
}

}  // namespace

TEST_CASE("float path equals the scalar reference on every target, dtype and size") {
  for_each_target([](const std::string& target) {
    uint32_t seed = 1;
    for (DType t : test::weight_dtypes())
      for (Shape s : shapes_for(t))
        for (int64_t M : kBatches) {
          const Problem p(t, s, M, seed++);
          INFO(target, " ", p.str());
          const auto y = p.run(LinearPath::Float);
          const auto e = test::worst(y, p.reference(), p.float_bound((s.cols + 2) * kU), M, s.rows, p.ldy);
          INFO(e.str());
          REQUIRE(e.ratio <= 1.0);
          check_padding(y, p);
        }
  });
}

TEST_CASE("int8 path equals its scalar reference and stays within quantisation error of f32") {
  for_each_target([](const std::string& target) {
    uint32_t seed = 500;
    for (DType t : {DType::Q8_0, DType::Q4_0})
      for (Shape s : shapes_for(t))
        for (int64_t M : kBatches) {
          const Problem p(t, s, M, seed++);
          INFO(target, " ", p.str());
          const auto y = p.run(LinearPath::Int8);
          check_padding(y, p);

          // Against the reference with the same activation codes.
          kernels::QuantizedActivations xq;
          kernels::quantize_activations(p.x.data(), M, p.ldx, s.cols, &xq);
          std::vector<float> xdq(M * s.cols);  // the activations the codes stand for
          for (int64_t m = 0; m < M; ++m)
            for (int64_t c = 0; c < s.cols; ++c)
              xdq[m * s.cols + c] = xq.q[m * s.cols + c] * xq.scale[m * (s.cols / 32) + c / 32];
          auto S8 = test::abs_products(xdq.data(), M, s.cols, p.W.view, p.bias_ptr(), p.ldy);
          for (double& v : S8) v *= (s.cols / 32 + 24) * kU;
          auto yref8 = p.out();
          kernels::linear_reference_int8(p.x.data(), M, p.ldx, p.W.view, p.bias_ptr(), yref8.data(), p.ldy);
          const auto e8 = test::worst(y, yref8, S8, M, s.rows, p.ldy);
          INFO("vs int8 reference: ", e8.str());
          REQUIRE(e8.ratio <= 1.0);

          // Against the f32 reference: half a quantisation step per activation.
          auto bound = p.float_bound((s.cols + 2) * kU);
          std::vector<float> row(s.cols);
          for (int64_t r = 0; r < s.rows; ++r) {
            kernels::dequantize_row(p.W.view, r, row.data());
            for (int64_t m = 0; m < M; ++m)
              for (int64_t c = 0; c < s.cols; ++c)
                bound[m * p.ldy + r] += std::fabs(row[c]) * xq.scale[m * (s.cols / 32) + c / 32] * 0.5 * (1 + 1e-5);
          }
          const auto ef = test::worst(y, p.reference(), bound, M, s.rows, p.ldy);
          INFO("vs f32 reference: ", ef.str());
          REQUIRE(ef.ratio <= 1.0);
        }
  });
}

TEST_CASE("oneDNN path equals the scalar reference (every dtype)") {
  uint32_t seed = 900;
  for (DType t : test::weight_dtypes()) {
    for (bool immutable : {false, true})
      for (Shape s : shapes_for(t))
        for (int64_t M : {int64_t{1}, int64_t{3}, int64_t{16}, int64_t{33}, int64_t{70}}) {
          Problem p(t, s, M, seed++);
          p.W.view.immutable = immutable;
          if (!kernels::linear_path_supports(LinearPath::OneDnn, p.W.view)) {
            MESSAGE("oneDNN has no ", std::string(dtype_name(t)), " matmul on this CPU");
            continue;
          }
          INFO(p.str(), immutable ? " prepacked" : " plain");
          const auto y = p.run(LinearPath::OneDnn);
          const double rel = (t == DType::F32 ? 0.0 : t == DType::BF16 ? 1.0 / 256 : 2.01 / 256) + (s.cols + 2) * kU;
          const auto e = test::worst(y, p.reference(), p.float_bound(rel), M, s.rows, p.ldy);
          INFO(e.str());
          REQUIRE(e.ratio <= 1.0);
          check_padding(y, p);
          kernels::forget_cached_weights(p.W.bytes.data(), p.W.bytes.size());
        }
  }
}

TEST_CASE("linear() (automatic path) matches the reference for prefill-sized batches") {
  for (DType t : test::weight_dtypes()) {
    const Problem p(t, {37, 256}, 100, 77);
    INFO(p.str(), " path for M=100: ", std::string(kernels::linear_path_name(kernels::linear_choose_path(p.W.view, 100))));
    auto y = p.out();
    kernels::linear(p.x.data(), p.M, p.ldx, p.W.view, p.bias_ptr(), y.data(), p.ldy);
    // The loosest bound of the paths linear() may take for this dtype.
    auto bound = p.float_bound((t == DType::F32 ? 0.0 : 2.01 / 256) + (256 + 2) * kU);
    if (dtype_is_quantized(t)) {
      kernels::QuantizedActivations xq;
      kernels::quantize_activations(p.x.data(), p.M, p.ldx, 256, &xq);
      std::vector<float> row(256);
      for (int64_t r = 0; r < 37; ++r) {
        kernels::dequantize_row(p.W.view, r, row.data());
        for (int64_t m = 0; m < p.M; ++m)
          for (int64_t c = 0; c < 256; ++c) bound[m * p.ldy + r] += std::fabs(row[c]) * xq.scale[m * 8 + c / 32];
      }
    }
    const auto e = test::worst(y, p.reference(), bound, p.M, 37, p.ldy);
    INFO(e.str());
    REQUIRE(e.ratio <= 1.0);
  }
}

TEST_CASE("non-finite activations give NaN or Inf on every path, never a finite lie") {
  for (DType t : test::weight_dtypes()) {
    Problem p(t, {8, 64}, 1, 3);
    p.x[5] = NAN;
    for (LinearPath path : {LinearPath::Float, LinearPath::Int8}) {
      if (!kernels::linear_path_supports(path, p.W.view)) continue;
      INFO(std::string(dtype_name(t)), " ", std::string(kernels::linear_path_name(path)));
      const auto y = p.run(path);
      for (int64_t r = 0; r < 8; ++r) CHECK(std::isnan(y[r]));
    }
  }
}

TEST_CASE("oneDNN decoded path: a matrix larger than one bf16 panel") {
  // 4 MiB panels of 32-column bf16 rows hold 65536 rows: 70000 rows take two panels.
  const Problem p(DType::Q8_0, {70000, 32}, 3, 4242);
  if (!kernels::linear_path_supports(LinearPath::OneDnn, p.W.view)) {
    MESSAGE("oneDNN has no bf16 matmul on this CPU");
    return;
  }
  const auto y = p.run(LinearPath::OneDnn);
  const auto e = test::worst(y, p.reference(), p.float_bound(2.01 / 256 + 34 * kU), p.M, 70000, p.ldy);
  INFO(e.str());
  REQUIRE(e.ratio <= 1.0);
}

TEST_CASE("bf16 panels of the oneDNN path: every target rounds like quant::f32_to_bf16, NaN included") {
  // f16 weights with the awkward values: NaNs whose payload lies in the low mantissa bits
  // (rounding would carry them into infinity), infinities, zeros, subnormals, the largest
  // finite, and values halfway between two bf16 numbers (ties to even).
  const int64_t rows = 3, cols = 40;  // 40: a tail after the vectors on every width
  auto W = test::random_matrix(DType::F16, rows, cols, 5);
  auto* h = reinterpret_cast<uint16_t*>(W.bytes.data());
  const uint16_t special[] = {0x7C01, 0xFC01, 0x7E00, 0x7D55, 0x7C00, 0xFC00, 0x0000, 0x8000,
                              0x0001, 0x03FF, 0x7BFF, 0xFBFF, 0x3C01, 0x3C03, 0x4001, 0xC003};
  for (int64_t i = 0; i < rows * cols; i += 2) h[i] = special[(i / 2) % 16];
  h[rows * cols - 1] = 0x7C01;  // in the tail
  std::vector<uint16_t> want(rows * cols);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    kernels::dequantize_row(W.view, r, row.data());
    for (int64_t c = 0; c < cols; ++c) want[r * cols + c] = quant::f32_to_bf16(row[c]);
  }
  for_each_target([&](const std::string& target) {
    std::vector<uint16_t> got(rows * cols, 0x1234);
    kernels::simd_decode_rows_bf16(W.view, 0, rows, got.data());
    for (int64_t i = 0; i < rows * cols; ++i) {
      INFO(target, " weight ", i, ": f16 ", hex16(h[i]), ", want ", hex16(want[i]), ", got ", hex16(got[i]));
      REQUIRE(got[i] == want[i]);
    }
  });
}

TEST_CASE("oneDNN path: what linear_path_supports says holds for the whole process") {
  // The capability is asked of oneDNN once: a dtype it takes works at every batch size,
  // and one it does not take is refused from the first call on (not: yes, then no).
  for (DType t : test::weight_dtypes()) {
    Problem p(t, {8, 64}, 1, 11);
    const bool before = kernels::linear_path_supports(LinearPath::OneDnn, p.W.view);
    INFO(std::string(dtype_name(t)), before ? " supported" : " not supported");
    for (int64_t M : {1, 2, 5}) {
      Problem q(t, {8, 64}, M, 12);
      if (before)
        CHECK_NOTHROW(q.run(LinearPath::OneDnn));
      else
        CHECK_THROWS_AS(q.run(LinearPath::OneDnn), std::invalid_argument);
      CHECK(kernels::linear_path_supports(LinearPath::OneDnn, q.W.view) == before);
    }
  }
  const auto f32 = test::random_matrix(DType::F32, 2, 32, 1);
  CHECK(kernels::linear_path_supports(LinearPath::OneDnn, f32.view));
}
