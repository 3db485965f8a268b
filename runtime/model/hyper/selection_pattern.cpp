#include "runtime/model/hyper/selection_pattern.h"

namespace hmoe {

uint64_t binomial(int64_t n, int64_t k) {
  if (k < 0 || k > n) return 0;
  if (k > n - k) k = n - k;
  unsigned __int128 r = 1;
  for (int64_t i = 1; i <= k; ++i) {
    r = r * static_cast<unsigned __int128>(n - k + i) / static_cast<unsigned __int128>(i);
    if (r > UINT64_MAX) return UINT64_MAX;
  }
  return static_cast<uint64_t>(r);
}

uint64_t pattern_index(const int32_t* experts, int64_t k) {
  uint64_t idx = 0;
  for (int64_t i = 0; i < k; ++i) idx += binomial(experts[i], i + 1);
  return idx;
}

void pattern_experts(uint64_t index, int64_t n_experts, int64_t k, int32_t* experts) {
  // Greedy from the largest position: the largest c with C(c, i) <= remaining index.
  int64_t c = n_experts - 1;
  for (int64_t i = k; i >= 1; --i) {
    while (c >= 0 && binomial(c, i) > index) --c;
    experts[i - 1] = static_cast<int32_t>(c);
    index -= binomial(c, i);
    --c;
  }
}

}  // namespace hmoe
