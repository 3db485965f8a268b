#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/model/ops/elementwise.h"
#include "runtime/model/ops/finite.h"
#include "runtime/model/ops/norms.h"
#include "runtime/model/ops/router.h"

using namespace hmoe;

TEST_CASE("route_top_k: softmax over all experts, top k ascending, renormalised") {
  const float logits[5] = {0.1f, 2.0f, -1.0f, 1.5f, 0.3f};
  int32_t ex[2];
  float g[2], scratch[5];
  route_top_k(logits, 5, 2, ex, g, scratch);
  CHECK(ex[0] == 1);
  CHECK(ex[1] == 3);
  const double p1 = std::exp(2.0), p3 = std::exp(1.5);
  CHECK(g[0] == doctest::Approx(p1 / (p1 + p3)).epsilon(1e-6));
  CHECK(g[1] == doctest::Approx(p3 / (p1 + p3)).epsilon(1e-6));
  // k = 1: the gate is exactly 1.
  route_top_k(logits, 5, 1, ex, g, scratch);
  CHECK(ex[0] == 1);
  CHECK(g[0] == 1.0f);
  // Ties go to the lower index.
  const float tie[4] = {1.f, 1.f, 1.f, 0.f};
  route_top_k(tie, 4, 2, ex, g, scratch);
  CHECK(ex[0] == 0);
  CHECK(ex[1] == 1);
}

TEST_CASE("layer_norm and gelu_new match their definitions") {
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 1, 2, 1}, b = {0, 0, 0, 1}, y(4);
  layer_norm(x.data(), 1, 4, w.data(), b.data(), 1e-5f, y.data());
  const double mean = 2.5, var = 1.25, inv = 1 / std::sqrt(var + 1e-5);
  CHECK(y[0] == doctest::Approx((1 - mean) * inv));
  CHECK(y[2] == doctest::Approx((3 - mean) * inv * 2));
  CHECK(y[3] == doctest::Approx((4 - mean) * inv + 1));
  float g[3] = {-1.f, 0.f, 2.f};
  gelu_new_inplace(g, 3);
  auto ref = [](double v) { return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); };
  CHECK(g[0] == doctest::Approx(ref(-1)));
  CHECK(g[1] == 0.f);
  CHECK(g[2] == doctest::Approx(ref(2)));
}

TEST_CASE("first_non_finite: the first NaN or infinity of either sign, anywhere; the largest finite values pass") {
  const float inf = std::numeric_limits<float>::infinity();
  const float bad[] = {std::nanf(""), -std::nanf(""), inf, -inf};
  for (int64_t n : {1, 255, 256, 257, 1000}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[i] = (i % 3 ? 1.f : -1.f) * std::numeric_limits<float>::max() / float(i + 1);
    x[0] = -0.f;
    x[n - 1] = std::numeric_limits<float>::denorm_min();
    CHECK(first_non_finite(x.data(), n) == -1);
    for (float v : bad)
      for (int64_t at : {int64_t{0}, n / 2, n - 1}) {
        std::vector<float> y = x;
        y[at] = v;
        if (at + 1 < n) y[n - 1] = inf;  // a later one does not hide the first
        INFO("n=", n, " at=", at, " value=", v);
        CHECK(first_non_finite(y.data(), n) == at);
      }
  }
  CHECK(first_non_finite(nullptr, 0) == -1);
}
