// attend() over the two layouts a KvView describes: token-major rows (the caches, and a
// qkv product's rows) and head-major runs. The layout moves only where each key is read
// from, and a decode step over rows (attention_heads, all heads position by position)
// only the order of the reads, so the results must be the same bits, on one thread and
// on several.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "runtime/kernels/threads.h"
#include "runtime/model/ops/attention.h"

using namespace hmoe;

namespace {

float value(int64_t i) { return static_cast<float>((i * 7919) % 263) / 131.f - 1.f; }

// A token-major cache's rows copied into head-major runs of `cap` positions a head.
std::vector<float> to_heads(const std::vector<float>& rows, int64_t n, int64_t nh, int64_t hd, int64_t cap) {
  std::vector<float> heads(nh * cap * hd, 0.f);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t c = 0; c < hd; ++c) heads[(h * cap + j) * hd + c] = rows[j * nh * hd + h * hd + c];
  return heads;
}

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
  const std::vector<float> k_heads = to_heads(k_rows, n, nh, hd, cap), v_heads = to_heads(v_rows, n, nh, hd, cap);
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

TEST_CASE("attend at decode over token-major rows gives the head-by-head bits, with and without a position bias") {
  // 12 heads of 20 over 37 keys (71 KB of cache: the per-head path would share it out
  // over two threads), and over 64 and 101, where two threads share the step's keys and
  // values in halves.
  for (const int64_t n : {37, 64, 101}) {
    CAPTURE(n);
    const int64_t nh = 12, hd = 20, cap = n + 3, d = nh * hd;
    std::vector<float> k_rows(n * d), v_rows(n * d), q(d), table(32 * nh);
    for (int64_t i = 0; i < n * d; ++i) {
      k_rows[i] = value(i + 11);
      v_rows[i] = value(i + 200003);
    }
    for (int64_t i = 0; i < d; ++i) q[i] = value(i + 5);
    for (int64_t i = 0; i < 32 * nh; ++i) table[i] = 2.f * value(i + 999);
    const std::vector<float> k_heads = to_heads(k_rows, n, nh, hd, cap), v_heads = to_heads(v_rows, n, nh, hd, cap);
    const KvView rows{k_rows.data(), v_rows.data(), d, hd};
    const KvView heads{k_heads.data(), v_heads.data(), hd, cap * hd};
    const AttentionHeads ah{nh, hd, 0.25f};
    const PositionBias causal_bias{table.data(), 32, 128, false}, encoder_bias{table.data(), 32, 128, true};
    for (const PositionBias* pb : {static_cast<const PositionBias*>(nullptr), &causal_bias, &encoder_bias})
      // The query at the last position (causal: it sees every key), or at position 3 of a
      // cross-attention-like call that sees all n keys.
      for (bool causal : {true, false}) {
        const int64_t pos = causal ? n - 1 : 3;
        std::vector<float> one_thread(d);
        for (int threads : {1, 2}) {
          CAPTURE(threads);
          kernels::ThreadScope scope(threads);
          std::vector<float> a(d), b(d);
          attend(q.data(), d, 1, pos, rows, n, causal, ah, pb, a.data(), d);
          attend(q.data(), d, 1, pos, heads, n, causal, ah, pb, b.data(), d);
          CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
          CHECK(a[0] != 0.f);
          if (threads == 1) one_thread = a;
          CHECK(std::memcmp(a.data(), one_thread.data(), a.size() * sizeof(float)) == 0);
        }
      }
  }
}
