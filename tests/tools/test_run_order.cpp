#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "tools/common/run_order.h"

using hmoe::tools::balanced_order;
using hmoe::tools::balanced_rounds;

TEST_CASE("balanced_order: every variant in every position, and after every other, equally often") {
  for (size_t n = 1; n <= 7; ++n) {
    const size_t rounds = balanced_rounds(n);
    std::vector<std::vector<int>> at(n, std::vector<int>(n, 0)), after(n, std::vector<int>(n, 0));
    for (size_t r = 0; r < rounds; ++r) {
      const std::vector<size_t> o = balanced_order(n, r);
      REQUIRE(o.size() == n);
      std::vector<size_t> sorted = o;
      std::sort(sorted.begin(), sorted.end());
      for (size_t i = 0; i < n; ++i) CHECK(sorted[i] == i);  // a permutation
      for (size_t p = 0; p < n; ++p) ++at[o[p]][p];
      for (size_t p = 1; p < n; ++p) ++after[o[p]][o[p - 1]];
      CHECK(balanced_order(n, r + rounds) == o);  // it repeats
    }
    INFO("n=", n, " rounds=", rounds);
    for (size_t v = 0; v < n; ++v)
      for (size_t p = 0; p < n; ++p) CHECK(at[v][p] == static_cast<int>(rounds / n));
    for (size_t v = 0; v < n; ++v)
      for (size_t w = 0; w < n; ++w)
        if (v != w) CHECK(after[v][w] == static_cast<int>(rounds / n));
  }
  CHECK(balanced_order(0, 3).empty());
}
