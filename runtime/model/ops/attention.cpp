#include "runtime/model/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/kernels/row_ops.h"
#include "runtime/kernels/thread_pool.h"

namespace hmoe {

int64_t relative_position_bucket(int64_t rel, const PositionBias& pb) {
  int64_t nb = pb.num_buckets, base = 0, n;
  if (pb.bidirectional) {
    nb /= 2;
    base = rel > 0 ? nb : 0;
    n = rel < 0 ? -rel : rel;
  } else {
    n = rel < 0 ? -rel : 0;  // keys after the query all share bucket 0
  }
  const int64_t exact = nb / 2;
  if (n < exact) return base + n;
  // f32 throughout, as torch: log(n / exact) / log(max_distance / exact) * (nb - exact),
  // the scalar log taken in double and rounded, the product truncated toward zero.
  const float ratio = static_cast<float>(n) / static_cast<float>(exact);
  const float scaled = std::log(ratio) /
                       static_cast<float>(std::log(static_cast<double>(pb.max_distance) / static_cast<double>(exact))) *
                       static_cast<float>(nb - exact);
  return base + std::min<int64_t>(nb - 1, exact + static_cast<int64_t>(scaled));
}

void store_heads(const float* row, int64_t n_head, int64_t head_dim, int64_t pos, int64_t head_stride, float* cache) {
  for (int64_t h = 0; h < n_head; ++h) std::copy_n(row + h * head_dim, head_dim, cache + h * head_stride + pos * head_dim);
}

void attend(const float* q, int64_t ldq, int64_t T, int64_t q_pos0, const KvView& kv, int64_t n_keys, bool causal,
            const AttentionHeads& heads, const PositionBias* bias, float* out, int64_t ldo) {
  const int64_t nh = heads.n_head, hd = heads.head_dim;
  const float scale = heads.scale;
  // Buckets of every relative position the call meets, key - query in [lo, hi]. This and
  // the tasks' buffers below are their threads' own, kept from call to call: a decode
  // step allocates nothing once they have grown.
  thread_local std::vector<int64_t> bucket;
  const int64_t lo = -(q_pos0 + T - 1), hi = n_keys - 1;
  if (bias) {
    bucket.resize(static_cast<size_t>(hi - lo + 1));
    for (int64_t r = lo; r <= hi; ++r) bucket[r - lo] = relative_position_bucket(r, *bias);
  }
  // One task per (query, head); the pool's threads share them once there is enough work
  // (prefill), or enough of the cache to read (decode past 5 keys at GPT-2-small's 12
  // heads of 64): a decode token's weights push the cache out of the CPU's caches, and a
  // thread reading it from memory alone kept the other idle for 5% of a 2-thread token
  // at GPT-2-small dims, 14% at switch-base-8's (perf). Each task computes its head the
  // same way on any thread.
  const int64_t work = T * nh * n_keys * hd;
  const int64_t cache_bytes = 2 * n_keys * nh * hd * static_cast<int64_t>(sizeof(float));
  const int threads = work >= (1 << 16) || cache_bytes >= (32 << 10) ? kernels::pool_threads() : 1;
  // The caller's buckets: inside a task running on a helper, `bucket` names the helper's.
  const int64_t* buckets = bucket.data();
  kernels::parallel_for(T * nh, threads, [&](int64_t task, int) {
    thread_local std::vector<float> scores, biases;
    if (static_cast<int64_t>(scores.size()) < n_keys) {
      scores.resize(static_cast<size_t>(n_keys));
      biases.resize(static_cast<size_t>(n_keys));
    }
    const int64_t t = task / nh, h = task % nh;
    const int64_t pos = q_pos0 + t;
    const int64_t n = causal ? pos + 1 : n_keys;
    const float* row_bias = nullptr;
    if (bias) {
      float* br = biases.data();
      for (int64_t j = 0; j < n; ++j) br[j] = bias->table[buckets[j - pos - lo] * nh + h];
      row_bias = br;
    }
    kernels::attention_head(q + t * ldq + h * hd, kv.k + h * kv.head_stride, kv.v + h * kv.head_stride, kv.ld, n,
                            hd, scale, out + t * ldo + h * hd, scores.data(), row_bias);
  });
}

}  // namespace hmoe
