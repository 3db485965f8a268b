// attend() over the two layouts a KvView describes: the caches' head-major one and the
// token-major rows of a qkv product. The layout moves only where each key is read from,
// so the results must be the same bits, on one thread and on several.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "runtime/kernels/threads.h"
#include "runtime/model/ops/attention.h"

using namespace hmoe;

namespace {

float value(int64_t i) { return static_cast<float>((i * 7919) % 263) / 131.f - 1.f; }

}  // namespace

TEST_CASE("attend gives the same bits over head-major and token-major keys and values") {
  // 3 heads of 20, 37 keys (not a multiple of the kernel's 4), a cache of 41 positions.
  const int64_t nh = 3, hd = 20, n = 37, cap = 41, d = nh * hd, T = 2;
  std::vector<float> k_rows(n * d), v_rows(n * d), q(T * d);
  for (int64_t i = 0; i < n * d; ++i) {
    k_rows[i] = value(i);
    v_rows[i] = value(i + 100003);
  }
  for (int64_t i = 0; i < T * d; ++i) q[i] = value(i + 7);
  std::vector<float> k_heads(nh * cap * hd, 0.f), v_heads(nh * cap * hd, 0.f);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t c = 0; c < hd; ++c) {
        k_heads[(h * cap + j) * hd + c] = k_rows[j * d + h * hd + c];
        v_heads[(h * cap + j) * hd + c] = v_rows[j * d + h * hd + c];
      }
  const KvView rows{k_rows.data(), v_rows.data(), d, hd};
  const KvView heads{k_heads.data(), v_heads.data(), hd, cap * hd};
  const AttentionHeads ah{nh, hd, 0.25f};
  for (int threads : {1, 2}) {
    kernels::ThreadScope scope(threads);
    for (bool causal : {false, true}) {
      CAPTURE(threads);
      CAPTURE(causal);
      // The two queries at positions 35 and 36: causal, they see 36 and 37 keys.
      std::vector<float> a(T * d), b(T * d);
      attend(q.data(), d, T, n - T, rows, n, causal, ah, nullptr, a.data(), d);
      attend(q.data(), d, T, n - T, heads, n, causal, ah, nullptr, b.data(), d);
      CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
      CHECK(a[0] != 0.f);
    }
  }
}
