#include "runtime/model/ops/finite.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "formats/error.h"

namespace hmoe {

int64_t first_non_finite(const float* x, int64_t n) {
  // A float is NaN or infinite exactly when its bits without the sign are above those of
  // the largest finite float. As int32 those bits are never negative, so a signed
  // compare answers it, which SSE2 has (an unsigned maximum, as this once took, it has
  // not: the compiler emulated it in a chain of dependent steps, about a cycle a value,
  // 1.3% of a 2-thread q4_0 decode token for GPT-2's 50257 logits). The answers of a
  // chunk are OR-ed; only a failing chunk is searched.
  constexpr int64_t kChunk = 256;
  constexpr int32_t kMaxFiniteBits = 0x7F7FFFFF;
  auto any_non_finite = [](const float* c, int64_t m) {
    int32_t bad = 0;
    for (int64_t i = 0; i < m; ++i) {
      int32_t bits;
      std::memcpy(&bits, c + i, sizeof bits);
      bad |= (bits & 0x7FFFFFFF) > kMaxFiniteBits;
    }
    return bad != 0;
  };
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = n - i0 < kChunk ? n - i0 : kChunk;
    // Whole chunks with a constant count: -O2 vectorises only loops without a remainder.
    if (!(m == kChunk ? any_non_finite(x + i0, kChunk) : any_non_finite(x + i0, m))) continue;
    for (int64_t i = i0; i < i0 + m; ++i)
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
