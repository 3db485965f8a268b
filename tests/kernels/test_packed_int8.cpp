// The packed path (q8_0 / q4_0 repacked into 16-row groups, packed_int8.h): on every
// SIMD target compiled in and runnable here, bit for bit equal to its scalar reference
// (which reads the file's canonical bytes, not the repacked ones), for every batch size
// and shape, with and without bias; its input quantiser equal to the scalar one,
// special values included; and the reference itself within quantisation error of f32.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernel_test_util.h"
#include "quant/half.h"
#include "runtime/kernels/linear_paths.h"
#include "runtime/kernels/packed_int8.h"
#include "runtime/kernels/row_ops.h"
#include "runtime/kernels/thread_pool.h"
#include "runtime/kernels/simd_target.h"

using namespace hmoe;
using kernels::LinearPath;

namespace {

constexpr double kU = 1.0 / (1 << 24);

struct Packed {
  std::vector<uint8_t> bytes;  // over-allocated for 64-byte alignment
  kernels::MatrixView view;
};

Packed pack(const kernels::MatrixView& W, int64_t n = 1) {
  Packed p;
  const int64_t one = kernels::packed_matrix_bytes(W.dtype, W.rows, W.cols);
  REQUIRE(one > 0);
  p.bytes.resize(static_cast<size_t>(one * n + 64));
  uint8_t* dst = p.bytes.data();
  dst += (64 - reinterpret_cast<uintptr_t>(dst) % 64) % 64;
  p.view = kernels::pack_stacked(W, n, dst);
  REQUIRE(kernels::packed_for(p.view) != nullptr);
  return p;
}

bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

void for_each_target(const std::function<void(const std::string&)>& fn) {
  for (const std::string& t : kernels::simd_supported_targets()) {
    kernels::simd_force_target(t);
    fn(t);
  }
  kernels::simd_force_target("auto");
}

struct ThreadsGuard {
  int saved = omp_get_max_threads();
  ~ThreadsGuard() { omp_set_num_threads(saved); }
};

}  // namespace

TEST_CASE("packed path equals its scalar reference bit for bit on every target, shape and batch") {
  const int64_t shapes[][2] = {{1, 32}, {5, 96}, {16, 64}, {17, 128}, {37, 256}, {50, 768},
                                 {20, 800}, {33, 1600}, {64, 3072},  // 1, 2, 3, 4 column panels
                                 {200, 1600}, {160, 3072},           // bands of 4 + 3 and 4 + 1 pairs
                                 // Long enough for decode to read two streams side by side
                                 // (at least 256 KiB a half; odd group counts leave a group
                                 // over): one panel, 24 pairs a half; three panels, 3 bands.
                                 {1544, 768}, {840, 1600}};
  for_each_target([&](const std::string& target) {
    uint32_t seed = 7;
    for (DType t : {DType::Q8_0, DType::Q4_0})
      for (const auto& s : shapes)
        for (int64_t M : {1, 2, 3, 4, 5, 9, 33}) {
          const int64_t rows = s[0], cols = s[1];
          if (rows * cols * M > (1 << 22)) continue;
          const auto W = test::random_matrix(t, rows, cols, seed++);
          const Packed P = pack(W.view);
          const int64_t ldx = cols + (seed % 2 ? 5 : 0), ldy = rows + (seed % 3 ? 0 : 3);
          const auto x = test::random_vector(M * ldx, seed++, 0.7f);
          const auto b = test::random_vector(rows, seed++);
          const float* bias = seed % 4 == 1 ? nullptr : b.data();
          std::vector<float> y(M * ldy, -7.f), yref(M * ldy, -7.f);
          INFO(target, " ", dtype_name(t), " ", rows, "x", cols, " M=", M, bias ? " bias" : "");
          REQUIRE(kernels::linear_choose_path(P.view, M) == LinearPath::Packed);
          kernels::linear(x.data(), M, ldx, P.view, bias, y.data(), ldy);
          kernels::packed_linear_reference(x.data(), M, ldx, W.view, bias, yref.data(), ldy);
          REQUIRE(same_bits(y.data(), yref.data(), y.size()));  // padding columns untouched too
        }
  });
}

TEST_CASE("packed reference stays within quantisation error of the f32 reference") {
  uint32_t seed = 900;
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (int64_t M : {1, 3}) {
      const int64_t rows = 37, cols = 256;
      const auto W = test::random_matrix(t, rows, cols, seed++);
      const auto x = test::random_vector(M * cols, seed++, 0.5f);
      std::vector<float> y(M * rows), yf(M * rows), wrow(cols);
      kernels::packed_linear_reference(x.data(), M, cols, W.view, nullptr, y.data(), rows);
      kernels::linear_reference(x.data(), M, cols, W.view, nullptr, yf.data(), rows);
      // Each input is off by at most half its block's step (max|x| / 127 / 2), plus
      // float rounding of the products and sums.
      for (int64_t m = 0; m < M; ++m)
        for (int64_t r = 0; r < rows; ++r) {
          kernels::dequantize_row(W.view, r, wrow.data());
          double bound = 0, S = 0;
          for (int64_t b = 0; b < cols / 32; ++b) {
            float amax = 0;
            for (int64_t c = 0; c < 32; ++c) amax = std::fmax(amax, std::fabs(x[m * cols + b * 32 + c]));
            for (int64_t c = 0; c < 32; ++c) {
              bound += std::fabs(wrow[b * 32 + c]) * amax / 127.0 / 2;
              S += std::fabs(wrow[b * 32 + c] * x[m * cols + b * 32 + c]);
            }
          }
          bound += (cols + 2) * kU * S * 2;
          INFO(dtype_name(t), " m=", m, " r=", r);
          CHECK(std::fabs(y[m * rows + r] - yf[m * rows + r]) <= bound);
        }
    }
}

TEST_CASE("packed input quantiser equals the scalar one, special values included") {
  const int64_t cols = 256, M = 3;
  std::vector<float> x = test::random_vector(M * cols, 42, 3.f);
  x[5] = std::numeric_limits<float>::quiet_NaN();                // block 0 of input 0
  x[40] = std::numeric_limits<float>::infinity();                // block 1
  for (int c = 64; c < 96; ++c) x[c] = 1e-38f * (c % 5 - 2);     // block 2: maximum below 127 / FLT_MAX
  for (int c = 96; c < 128; ++c) x[c] = 0.f;                     // block 3: zeros
  for (int c = 128; c < 160; ++c) x[c] = (c % 2 ? 0.5f : -0.5f) * 127.f / 127.f;  // ties after scaling
  x[cols + 3] = -std::numeric_limits<float>::infinity();
  x[2 * cols + 7] = 3e38f;
  for_each_target([&](const std::string& target) {
    kernels::Int8Activations a, r;
    kernels::quantize_activations_int8(x.data(), M, cols, cols, &a);
    kernels::quantize_activations_int8_reference(x.data(), M, cols, cols, &r);
    INFO(target);
    REQUIRE(a.q == r.q);
    REQUIRE(a.sum == r.sum);
    REQUIRE(std::memcmp(a.scale.data(), r.scale.data(), a.scale.size() * sizeof(float)) == 0);
    CHECK(std::isnan(a.scale[0]));
    CHECK(std::isnan(a.scale[1]));
  });
}

TEST_CASE("packed path: a q8_0 weight of -128 (not written by the quantizer) is exact on every target") {
  auto W = test::random_matrix(DType::Q8_0, 16, 64, 5);
  int8_t* q = static_cast<int8_t*>(const_cast<void*>(W.view.data));
  for (int c = 0; c < 64; c += 3) q[c] = -128;  // row 0
  const Packed P = pack(W.view);
  std::vector<float> x = test::random_vector(64, 6);
  for (int c = 0; c < 64; c += 2) x[c] = -std::fabs(x[c]) - 1.f;  // negative codes against -128
  for_each_target([&](const std::string& target) {
    std::vector<float> y(16), yref(16);
    kernels::linear(x.data(), 1, 64, P.view, nullptr, y.data(), 16);
    kernels::packed_linear_reference(x.data(), 1, 64, W.view, nullptr, yref.data(), 16);
    INFO(target);
    REQUIRE(same_bits(y.data(), yref.data(), 16));
  });
}

TEST_CASE("packed views: slices of a stacked tensor, and views that are not the packed matrix") {
  const int64_t n = 3, rows = 20, cols = 96;
  auto W = test::random_matrix(DType::Q4_0, rows, cols, 11, n);
  const Packed P = pack(W.view, n);
  const auto x = test::random_vector(cols, 12);
  for (int64_t i = 0; i < n; ++i) {
    const kernels::MatrixView s = P.view.slice(i, n);
    REQUIRE(kernels::packed_for(s) != nullptr);
    std::vector<float> y(rows), yref(rows);
    kernels::linear(x.data(), 1, cols, s, nullptr, y.data(), rows);
    kernels::packed_linear_reference(x.data(), 1, cols, W.view.slice(i, n), nullptr, yref.data(), rows);
    CHECK(same_bits(y.data(), yref.data(), rows));
  }
  // Rows cut out of the matrix (as a HyperExpert's row split does): the repacked copy is
  // not theirs, so they take the canonical path, with the right numbers.
  kernels::MatrixView cut = P.view;
  cut.rows = 4;
  cut.data = P.view.row_data(3);
  cut.scales = P.view.row_scales(3);
  CHECK(kernels::packed_for(cut) == nullptr);
  CHECK(kernels::linear_choose_path(cut, 1) != LinearPath::Packed);
  CHECK_THROWS_AS(kernels::linear_with_path(LinearPath::Packed, x.data(), 1, cols, cut, nullptr,
                                            std::vector<float>(4).data(), 4),
                  std::invalid_argument);
  // f32 has no repacked form.
  auto F = test::random_matrix(DType::F32, 4, 32, 13);
  kernels::PackedStore store;
  CHECK(store.add(F.view).packed == nullptr);
  CHECK(store.bytes() == 0);
}

TEST_CASE("packed path: any thread count gives the bits of one thread, every row written") {
  ThreadsGuard guard;
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1000, 768}, {250, 768}, {250, 1600}, {2600, 768},
                              {1400, 1600}}) {
      // 62.5 and 15.6 groups: uneven splits; 1600 columns: 3 column panels; 2600 and
      // 1400 rows: threads' shares long enough to be read as two streams
      const auto W = test::random_matrix(t, rows, cols, 21);
      kernels::PackedStore store;
      const kernels::MatrixView v = store.add(W.view);
      for (int64_t M : {1, 7}) {
        const auto x = test::random_vector(M * cols, 22);
        std::vector<float> y1(M * rows);
        omp_set_num_threads(1);
        kernels::linear(x.data(), M, v, nullptr, y1.data());
        // Spinning on: a few large tasks; off (helpers asleep): fine tasks.
        const int64_t spin_us = kernels::pool_spin_us();
        for (int64_t spin : {spin_us, int64_t{0}})
          for (int threads : {2, 3, 8}) {
            kernels::set_pool_spin_us(spin);
            std::vector<float> yn(M * rows, std::nanf(""));  // a row left unwritten shows
            omp_set_num_threads(threads);
            const bool awake = kernels::pool_helpers_awake();
            kernels::linear(x.data(), M, v, nullptr, yn.data());
            kernels::set_pool_spin_us(spin_us);
            INFO(dtype_name(t), " rows=", rows, " cols=", cols, " M=", M, " threads=", threads, " spin=", spin,
                 " helpers awake=", awake);
            CHECK(same_bits(y1.data(), yn.data(), y1.size()));
          }
      }
    }
}

TEST_CASE("packed path: a product computed in row ranges gives the whole product's bits") {
  using Cut = std::vector<std::pair<int64_t, int64_t>>;
  struct Case {
    int64_t rows, K;
    std::vector<Cut> cuts;
  };
  // Ranges that start on either group of a pair (groups are read two by two), end
  // inside one, or hold the last group with its padding; 1600 columns: three column
  // panels; 200 rows: two bands (128 rows, then 72), cut inside and across them.
  const std::vector<Case> cases = {
      {72, 96, {Cut{{0, 32}, {32, 48}, {48, 72}}, Cut{{0, 16}, {16, 64}, {64, 72}}}},
      {72, 1600, {Cut{{0, 32}, {32, 48}, {48, 72}}, Cut{{0, 16}, {16, 64}, {64, 72}}}},
      {200, 1600, {Cut{{0, 112}, {112, 144}, {144, 200}}, Cut{{0, 128}, {128, 192}, {192, 200}}}},
      // Ranges long enough for two streams (at least 256 KiB a half), starting on a pair
      // (0, 1280) or not (1296); with three panels, on a band (384).
      {2600, 768, {Cut{{0, 1296}, {1296, 2600}}, Cut{{0, 1280}, {1280, 2600}}}},
      {1400, 1600, {Cut{{0, 384}, {384, 1400}}}}};
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (const Case& c : cases) {
      const int64_t rows = c.rows, K = c.K;
      const auto W = test::random_matrix(t, rows, K, 23);
      kernels::PackedStore store;
      const kernels::MatrixView v = store.add(W.view);
      const auto bias = test::random_vector(rows, 24);
      for (int64_t M : {1, 5}) {
        const auto x = test::random_vector(M * K, 25);
        std::vector<float> whole(M * rows);
        kernels::linear(x.data(), M, v, bias.data(), whole.data());
        for (const Cut& cut : c.cuts) {
          std::vector<float> parts(M * rows, -1.f);
          for (auto [r0, r1] : cut)
            kernels::packed_linear_rows(x.data(), M, K, v, bias.data(), parts.data(), rows, r0, r1);
          INFO(dtype_name(t), " rows=", rows, " K=", K, " M=", M, " first cut ", cut[1].first);
          CHECK(same_bits(whole.data(), parts.data(), whole.size()));
        }
      }
      std::vector<float> y(rows);
      const auto x = test::random_vector(K, 26);
      CHECK_THROWS_AS(kernels::packed_linear_rows(x.data(), 1, K, v, nullptr, y.data(), rows, 8, 32),
                      std::invalid_argument);  // not on a group
      CHECK_THROWS_AS(kernels::packed_linear_rows(x.data(), 1, K, W.view, nullptr, y.data(), rows, 0, 16),
                      std::invalid_argument);  // no repacked copy
    }
}

TEST_CASE("packed path: a set of products run as one job gives each product's bits alone, then its activation") {
  ThreadsGuard guard;
  struct Spec {
    DType t;
    int64_t rows, cols, M;
    bool bias;
  };
  // Mixed dtypes and shapes, odd group counts (a padding group), an empty batch.
  const std::vector<Spec> specs = {{DType::Q8_0, 1000, 768, 1, true},
                                   {DType::Q4_0, 250, 768, 1, false},
                                   {DType::Q8_0, 72, 96, 0, true},
                                   {DType::Q4_0, 3072, 128, 3, true},
                                   {DType::Q8_0, 16, 3072, 1, false},
                                   {DType::Q4_0, 250, 1600, 2, true}};
  std::vector<test::EncodedMatrix> mats;
  std::vector<kernels::PackedStore> stores(specs.size());
  std::vector<kernels::LinearArgs> set;
  std::vector<std::vector<float>> xs, biases, alone, together;
  for (size_t i = 0; i < specs.size(); ++i) {
    const Spec& s = specs[i];
    mats.push_back(test::random_matrix(s.t, s.rows, s.cols, 40 + static_cast<uint32_t>(i)));
    xs.push_back(test::random_vector(std::max<int64_t>(1, s.M) * s.cols, 50 + static_cast<uint32_t>(i)));
    biases.push_back(test::random_vector(s.rows, 60 + static_cast<uint32_t>(i)));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const Spec& s = specs[i];
    kernels::LinearArgs a;
    a.x = xs[i].data();
    a.M = s.M;
    a.ldx = s.cols;
    a.W = stores[i].add(mats[i].view);
    a.bias = s.bias ? biases[i].data() : nullptr;
    a.ldy = s.rows;
    a.act = i % 3 == 0 ? kernels::Activation::None : i % 3 == 1 ? kernels::Activation::GeluNew : kernels::Activation::Relu;
    set.push_back(a);
    alone.emplace_back(std::max<int64_t>(1, s.M) * s.rows, 0.f);
  }
  const int64_t spin_us = kernels::pool_spin_us();
  for_each_target([&](const std::string& target) {
    omp_set_num_threads(1);
    for (size_t i = 0; i < set.size(); ++i) {
      kernels::linear(set[i].x, set[i].M, set[i].ldx, set[i].W, set[i].bias, alone[i].data(), set[i].ldy);
      const int64_t n = set[i].M * set[i].ldy;  // whole rows: the activation's bits do not depend on the cut
      if (set[i].act == kernels::Activation::GeluNew) kernels::gelu_new(alone[i].data(), n);
      if (set[i].act == kernels::Activation::Relu) kernels::relu(alone[i].data(), n);
    }
    for (int64_t spin : {spin_us, int64_t{0}})
      for (int threads : {1, 2, 3}) {
        kernels::set_pool_spin_us(spin);
        omp_set_num_threads(threads);
        together.clear();
        for (size_t i = 0; i < set.size(); ++i) {
          together.emplace_back(alone[i].size(), std::nanf(""));  // a row left unwritten shows
          if (specs[i].M == 0) together.back() = alone[i];        // nothing to write
          set[i].y = together.back().data();
        }
        kernels::linear_set(set.data(), static_cast<int64_t>(set.size()));
        kernels::set_pool_spin_us(spin_us);
        for (size_t i = 0; i < set.size(); ++i) {
          INFO(target, " product ", i, " threads=", threads, " spin=", spin);
          CHECK(same_bits(alone[i].data(), together[i].data(), alone[i].size()));
        }
      }
  });
  // A set with a product that has no repacked copy runs one product after another.
  const auto F = test::random_matrix(DType::F32, 40, 96, 70);
  const auto x = test::random_vector(96, 71);
  std::vector<float> y_alone(40), y_set(40), q_alone(1000), q_set(1000);
  kernels::linear(x.data(), 1, F.view, nullptr, y_alone.data());
  kernels::linear(xs[0].data(), 1, set[0].W, biases[0].data(), q_alone.data());
  kernels::relu(y_alone.data(), 40);
  kernels::LinearArgs mixed[2];
  mixed[0] = set[0];
  mixed[0].y = q_set.data();
  mixed[1].x = x.data();
  mixed[1].M = 1;
  mixed[1].ldx = 96;
  mixed[1].W = F.view;
  mixed[1].y = y_set.data();
  mixed[1].ldy = 40;
  mixed[1].act = kernels::Activation::Relu;
  kernels::linear_set(mixed, 2);
  CHECK(same_bits(y_alone.data(), y_set.data(), 40));
  CHECK(same_bits(q_alone.data(), q_set.data(), 1000));
  // Bad arguments are refused as linear() refuses them.
  mixed[1].ldy = 39;
  CHECK_THROWS_AS(kernels::linear_set(mixed, 2), std::invalid_argument);
  CHECK_THROWS_AS(kernels::linear_set(nullptr, 1), std::invalid_argument);
  CHECK_NOTHROW(kernels::linear_set(nullptr, 0));
}
