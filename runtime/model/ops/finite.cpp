#include "runtime/model/ops/finite.h"

#include <cmath>
#include <cstdio>

#include "formats/error.h"

namespace hmoe {

int64_t first_non_finite(const float* x, int64_t n) {
  // The sum of a row is finite only if every value is (Inf - Inf and NaN stay NaN), so
  // one pass of adds settles the common case; only a failing row is searched.
  constexpr int64_t kChunk = 256;
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t i1 = i0 + kChunk < n ? i0 + kChunk : n;
    float s = 0.f;
    for (int64_t i = i0; i < i1; ++i) s += x[i] * 0.f;
    if (s == 0.f) continue;
    for (int64_t i = i0; i < i1; ++i)
      if (!std::isfinite(x[i])) return i;
  }
  return -1;
}

void check_finite(const float* x, int64_t rows, int64_t cols, const std::string& file, const std::string& where) {
  const int64_t i = first_non_finite(x, rows * cols);
  if (i < 0) return;
  char value[32];
  std::snprintf(value, sizeof value, "%g", static_cast<double>(x[i]));
  throw FormatError("'" + file + "': the model's weights produce " + value + " in " + where +
                                   " (token " + std::to_string(i / cols) + " of the call): its weights overflow "
                                   "f32 arithmetic (a corrupt or diverged file?)");
}

}  // namespace hmoe
