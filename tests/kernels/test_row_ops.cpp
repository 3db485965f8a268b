// The kernels around the products (row_ops.h) against their scalar references, on every
// SIMD target compiled in and runnable here, special values included.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "runtime/kernels/row_ops.h"
#include "runtime/kernels/simd_target.h"

using namespace hmoe;

namespace {

constexpr double kU = 1.0 / (1 << 24);

void for_each_target(const std::function<void(const std::string&)>& fn) {
  for (const std::string& t : kernels::simd_supported_targets()) {
    kernels::simd_force_target(t);
    fn(t);
  }
  kernels::simd_force_target("auto");
}

}  // namespace

TEST_CASE("gelu_new equals libm's within a few ulp of tanh, on every target") {
  std::vector<float> x = test::random_vector(1000, 3, 3.f);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.f, -0.f, 50.f, -50.f, 1e20f, -1e20f, 8.f, -8.f, 1e-30f, inf, -inf}) x.push_back(v);
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  for_each_target([&](const std::string& target) {
    for (int64_t n : {int64_t{1}, int64_t{7}, static_cast<int64_t>(x.size())}) {
      std::vector<float> y(x.begin(), x.begin() + n), r(x.begin(), x.begin() + n);
      kernels::gelu_new(y.data(), n);
      kernels::gelu_new_reference(r.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        INFO(target, " x=", x[i], " got ", y[i], " want ", r[i]);
        if (std::isnan(r[i])) {
          CHECK(std::isnan(y[i]));
        } else if (std::isinf(r[i])) {
          CHECK(y[i] == r[i]);
        } else {
          // tanh off by a few ulp of 1, times x / 2; plus the rounding of the result.
          CHECK(std::fabs(y[i] - r[i]) <= 6e-7 * std::fabs(x[i]) + 4 * kU * std::fabs(r[i]));
        }
      }
    }
  });
}

TEST_CASE("gelu_new over many values (split over threads) equals the same kernel on pieces") {
  std::vector<float> x = test::random_vector(300001, 4, 2.f);
  std::vector<float> a = x, b = x;
  kernels::gelu_new(a.data(), static_cast<int64_t>(a.size()));
  for (size_t i = 0; i < b.size(); i += 1000) kernels::gelu_new(b.data() + i, std::min<int64_t>(1000, b.size() - i));
  CHECK(a == b);
}

TEST_CASE("softmax equals the double-sum reference within float rounding, on every target") {
  for_each_target([&](const std::string& target) {
    for (int64_t n : {1, 3, 16, 17, 100, 1024}) {
      std::vector<float> x = test::random_vector(n, static_cast<uint32_t>(n), 4.f);
      if (n > 3) x[2] = -std::numeric_limits<float>::infinity();  // a masked-out score
      std::vector<float> y = x, r = x;
      kernels::softmax(y.data(), n);
      kernels::softmax_reference(r.data(), n);
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        INFO(target, " n=", n, " i=", i);
        CHECK(std::fabs(y[i] - r[i]) <= (8 + n) * kU * r[i] + 1e-30);
        sum += y[i];
      }
      CHECK(std::fabs(sum - 1) <= (8 + n) * kU);
    }
  });
}

TEST_CASE("layer_norm equals the reference on every target, sizes with and without a vector tail") {
  for_each_target([&](const std::string& target) {
    for (int64_t d : {1, 5, 16, 77, 768}) {
      const int64_t M = 3;
      const auto x = test::random_vector(M * d, static_cast<uint32_t>(d), 2.f);
      const auto w = test::random_vector(d, 11), b = test::random_vector(d, 12);
      std::vector<float> y(M * d), r(M * d);
      kernels::layer_norm(x.data(), M, d, w.data(), b.data(), 1e-5f, y.data());
      kernels::layer_norm_reference(x.data(), M, d, w.data(), b.data(), 1e-5f, r.data());
      for (int64_t i = 0; i < M * d; ++i) {
        INFO(target, " d=", d, " i=", i);
        // Mean and variance are summed in double in another order: the float results
        // differ by at most a rounding of the normalised value.
        CHECK(std::fabs(y[i] - r[i]) <= 4 * kU * (std::fabs(r[i]) + std::fabs(b[i % d]) + std::fabs(w[i % d]) * 4));
      }
    }
  });
}

TEST_CASE("attention_head equals the scalar reference within rounding, on every target") {
  for_each_target([&](const std::string& target) {
    for (int64_t hd : {8, 16, 20, 64})
      for (int64_t n : {1, 2, 5, 64, 300}) {
        const int64_t ld = 3 * hd + 4;
        const auto q = test::random_vector(hd, 1);
        const auto k = test::random_vector(n * ld, 2), v = test::random_vector(n * ld, 3);
        std::vector<float> o(hd), r(hd), s(n), sr(n);
        const float scale = 1.f / std::sqrt(static_cast<float>(hd));
        kernels::attention_head(q.data(), k.data(), v.data(), ld, n, hd, scale, o.data(), s.data());
        kernels::attention_head_reference(q.data(), k.data(), v.data(), ld, n, hd, scale, r.data(), sr.data());
        double vmax = 0;
        for (float t : v) vmax = std::max(vmax, std::fabs(static_cast<double>(t)));
        for (int64_t c = 0; c < hd; ++c) {
          INFO(target, " hd=", hd, " n=", n, " c=", c);
          // Scores off by (hd + 4) u of sum |q k| (about 4 here) move each weight by as
          // much relatively; the weighted sum adds (n + 4) u of sum p |v|.
          CHECK(std::fabs(o[c] - r[c]) <= ((hd + 4) * 8 + n + 8) * kU * vmax);
        }
      }
  });
}

TEST_CASE("attention_heads gives each head attention_head's bits, and the scalar reference's values, on every target") {
  for_each_target([&](const std::string& target) {
    for (int64_t hd : {8, 16, 20, 64})
      for (int64_t n_heads : {1, 3, 12})
        for (int64_t n : {1, 2, 5, 63, 64, 101, 300})
          for (bool with_bias : {false, true}) {
            const int64_t ld = n_heads * hd + 4;  // rows a little wider than the heads: a view into wider rows
            const auto q = test::random_vector(n_heads * hd, 11);
            const auto k = test::random_vector(n * ld, 12), v = test::random_vector(n * ld, 13);
            auto bias = test::random_vector(n_heads * n, 14, 3.f);
            if (n > 3) bias[1] = -std::numeric_limits<float>::infinity();  // a key masked out for head 0
            const float* b = with_bias ? bias.data() : nullptr;
            const float scale = 1.f / std::sqrt(static_cast<float>(hd));
            std::vector<float> o(n_heads * hd), r(n_heads * hd), s(n_heads * n), sr(n_heads * n);
            kernels::attention_heads(q.data(), k.data(), v.data(), ld, n, n_heads, hd, scale, o.data(), s.data(), b);
            kernels::attention_heads_reference(q.data(), k.data(), v.data(), ld, n, n_heads, hd, scale, r.data(),
                                               sr.data(), b);
            double vmax = 0;
            for (float t : v) vmax = std::max(vmax, std::fabs(static_cast<double>(t)));
            for (int64_t h = 0; h < n_heads; ++h) {
              std::vector<float> one(hd), one_scores(n);
              kernels::attention_head(q.data() + h * hd, k.data() + h * hd, v.data() + h * hd, ld, n, hd, scale,
                                      one.data(), one_scores.data(), b ? b + h * n : nullptr);
              for (int64_t c = 0; c < hd; ++c) {
                INFO(target, " hd=", hd, " heads=", n_heads, " n=", n, " bias=", with_bias, " h=", h, " c=", c);
                CHECK(o[h * hd + c] == one[c]);
                CHECK(std::fabs(o[h * hd + c] - r[h * hd + c]) <= ((hd + 4) * 8 + n + 8) * kU * vmax);
              }
            }
            if (with_bias && n > 3) CHECK(s[1] == 0.f);  // the softmax gave the masked key no weight
            // The steps as two threads take them at decode (each half's scores, the
            // second half first; the softmax; each half's values; the second added):
            // attention_heads's bits.
            const int64_t split = kernels::attention_values_split(n);
            CHECK(split % 2 == 0);
            CHECK((split == 0) == (n < kernels::kAttentionSplitKeys));
            if (split) {
              std::vector<float> parts(n_heads * hd), second(n_heads * hd), ps(n_heads * n);
              kernels::attention_heads_scores(q.data(), k.data(), ld, split, n, n, n_heads, hd, scale, ps.data());
              kernels::attention_heads_scores(q.data(), k.data(), ld, 0, split, n, n_heads, hd, scale, ps.data());
              kernels::attention_heads_softmax(ps.data(), n, n_heads, b);
              kernels::attention_heads_values(v.data(), ld, split, n, n, n_heads, hd, ps.data(), second.data());
              kernels::attention_heads_values(v.data(), ld, 0, split, n, n_heads, hd, ps.data(), parts.data());
              for (int64_t i = 0; i < n_heads * hd; ++i) parts[i] += second[i];
              INFO(target, " hd=", hd, " heads=", n_heads, " n=", n, " bias=", with_bias);
              CHECK(parts == o);
            }
          }
  });
}

TEST_CASE("relu equals the reference bit for bit on every target, NaN and signed zeros included") {
  std::vector<float> x = test::random_vector(1000, 5, 3.f);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.f, -0.f, inf, -inf, 1e-40f, -1e-40f}) x.push_back(v);
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  for_each_target([&](const std::string& target) {
    for (int64_t n : {int64_t{1}, int64_t{7}, static_cast<int64_t>(x.size())}) {
      std::vector<float> y(x.begin(), x.begin() + n), r(x.begin(), x.begin() + n);
      kernels::relu(y.data(), n);
      kernels::relu_reference(r.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        INFO(target, " x=", x[i], " got ", y[i], " want ", r[i]);
        if (std::isnan(r[i])) CHECK(std::isnan(y[i]));
        else CHECK((y[i] == r[i] && std::signbit(y[i]) == std::signbit(r[i])));
      }
    }
  });
  // Many values: split over the pool, the same as one call per piece.
  std::vector<float> a = test::random_vector(1000001, 6, 2.f), b = a;
  kernels::relu(a.data(), static_cast<int64_t>(a.size()));
  kernels::relu_reference(b.data(), static_cast<int64_t>(b.size()));
  CHECK(a == b);
}

TEST_CASE("rms_norm equals the reference on every target, sizes with and without a vector tail") {
  for_each_target([&](const std::string& target) {
    for (int64_t d : {1, 5, 16, 77, 768}) {
      const int64_t M = 3;
      const auto x = test::random_vector(M * d, static_cast<uint32_t>(d) + 100, 2.f);
      const auto w = test::random_vector(d, 13);
      std::vector<float> y(M * d), r(M * d);
      kernels::rms_norm(x.data(), M, d, w.data(), 1e-6f, y.data());
      kernels::rms_norm_reference(x.data(), M, d, w.data(), 1e-6f, r.data());
      for (int64_t i = 0; i < M * d; ++i) {
        INFO(target, " d=", d, " i=", i);
        // The mean of squares is summed in double in another order, then rounded to
        // float: at most one float rounding apart, which moves the result by 2 u.
        CHECK(std::fabs(y[i] - r[i]) <= 4 * kU * std::fabs(r[i]));
      }
    }
  });
}

TEST_CASE("attention_head with a score bias (relative positions) equals the scalar reference, on every target") {
  for_each_target([&](const std::string& target) {
    for (int64_t hd : {16, 64})
      for (int64_t n : {1, 5, 300}) {
        const int64_t ld = 2 * hd;
        const auto q = test::random_vector(hd, 7);
        const auto k = test::random_vector(n * ld, 8), v = test::random_vector(n * ld, 9);
        auto bias = test::random_vector(n, 10, 3.f);
        if (n > 3) bias[1] = -std::numeric_limits<float>::infinity();  // a key masked out
        std::vector<float> o(hd), r(hd), s(n), sr(n);
        kernels::attention_head(q.data(), k.data(), v.data(), ld, n, hd, 1.f, o.data(), s.data(), bias.data());
        kernels::attention_head_reference(q.data(), k.data(), v.data(), ld, n, hd, 1.f, r.data(), sr.data(),
                                          bias.data());
        double vmax = 0;
        for (float t : v) vmax = std::max(vmax, std::fabs(static_cast<double>(t)));
        for (int64_t c = 0; c < hd; ++c) {
          INFO(target, " hd=", hd, " n=", n, " c=", c);
          CHECK(std::fabs(o[c] - r[c]) <= ((hd + 4) * 8 + n + 8) * kU * vmax);
        }
        if (n > 3) CHECK(s[1] == 0.f);  // the softmax gave the masked key no weight
      }
  });
}
