#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "runtime/model/hyper/selection_pattern.h"

using namespace hmoe;

TEST_CASE("binomial") {
  CHECK(binomial(8, 2) == 28);
  CHECK(binomial(8, 1) == 8);
  CHECK(binomial(32, 2) == 496);
  CHECK(binomial(64, 8) == 4426165368ull);
  CHECK(binomial(5, 6) == 0);
  CHECK(binomial(64, 32) == 1832624140942590534ull);
}

TEST_CASE("pattern_index maps the k-subsets one to one onto 0 .. C(N,k)-1") {
  for (auto [N, k] : std::vector<std::pair<int, int>>{{8, 1}, {8, 2}, {16, 2}, {10, 4}, {7, 7}}) {
    CAPTURE(N);
    CAPTURE(k);
    const uint64_t C = binomial(N, k);
    std::set<uint64_t> seen;
    // Enumerate every ascending k-subset and check the index and its inverse.
    std::vector<int32_t> c(k);
    for (int i = 0; i < k; ++i) c[i] = i;
    while (true) {
      const uint64_t idx = pattern_index(c.data(), k);
      REQUIRE(idx < C);
      seen.insert(idx);
      std::vector<int32_t> back(k);
      pattern_experts(idx, N, k, back.data());
      REQUIRE(back == c);
      int i = k - 1;
      while (i >= 0 && c[i] == N - k + i) --i;
      if (i < 0) break;
      ++c[i];
      for (int j = i + 1; j < k; ++j) c[j] = c[j - 1] + 1;
    }
    CHECK(seen.size() == C);
  }
}
