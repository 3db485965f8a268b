// The order in which a benchmark's variants take their turns, repetition after
// repetition. A run disturbs the one after it, and the first of a round follows
// whatever ran between rounds (measured: of four copies of one model, the one that ran
// first in most rounds decoded 4-11% slower than the others), so every variant must
// run in every position, and after every other variant, equally often.
//
// A Williams design does both: for n variants, n rows (2n when n is odd, the second n
// the first n reversed), row r of which is round r's order; over any run of that many
// consecutive rounds, each variant takes each position equally often and follows each
// other variant equally often. (Successive permutations, the order used before, put the
// first variant first in 6 of the first 8 rounds of four.)
#pragma once
#include <cstddef>
#include <vector>

namespace hmoe::tools {

// Rounds after which the design repeats: n for an even n, 2n for an odd one (1 for 1).
inline size_t balanced_rounds(size_t n) { return n <= 1 ? 1 : n % 2 == 0 ? n : 2 * n; }

// The order of n variants (indices 0..n-1) in round r.
inline std::vector<size_t> balanced_order(size_t n, size_t r) {
  std::vector<size_t> order(n);
  if (n == 0) return order;
  r %= balanced_rounds(n);
  const size_t shift = r % n;
  // First row: 0, 1, n-1, 2, n-2, ...; row i adds i to each (mod n).
  for (size_t j = 0, lo = 1, hi = n - 1; j < n; ++j) {
    size_t v;
    if (j == 0)
      v = 0;
    else if (j % 2 == 1)
      v = lo++;
    else
      v = hi--;
    order[j] = (v + shift) % n;
  }
  if (r >= n) order = std::vector<size_t>(order.rbegin(), order.rend());
  return order;
}

}  // namespace hmoe::tools
