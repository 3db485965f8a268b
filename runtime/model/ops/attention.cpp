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

namespace {

// Head h's bias over keys [0, n) for the query at position pos, from the buckets of
// each relative position (by_rel[key - pos]).
void bias_row(const PositionBias& pb, const int64_t* by_rel, int64_t pos, int64_t n, int64_t n_head, int64_t h,
              float* out) {
  for (int64_t j = 0; j < n; ++j) out[j] = pb.table[by_rel[j - pos] * n_head + h];
}

// One query over n keys on two threads: each reads the scores' keys of its half, the
// caller takes the softmax, each sums its half's values, the caller adds the second
// half to the first: attention_heads's steps in its order (row_ops.h), so the bits of
// one thread. A token's weights push the cache out of the CPU's caches; from memory one
// thread read a layer's 64 keys and values in 1.5-1.7x the time two take this way, while
// splitting the heads (each thread reading half of every row) took longer than one
// thread (bench/README.md).
void decode_in_halves(const float* q, const KvView& kv, int64_t n, int64_t nh, int64_t hd, float scale,
                      const int64_t* by_rel, const PositionBias* bias, int64_t pos, float* out) {
  thread_local std::vector<float> scores, biases, second;
  scores.resize(static_cast<size_t>(nh * n));
  second.resize(static_cast<size_t>(nh * hd));
  const int64_t split = kernels::attention_values_split(n);
  const int64_t from[2] = {0, split}, to[2] = {split, n};
  // Inside the tasks, the caller's buffers (thread_local names the running thread's).
  float* const s = scores.data();
  float* const halves[2] = {out, second.data()};
  kernels::parallel_for(2, 2, [&](int64_t half, int) {
    kernels::attention_heads_scores(q, kv.k, kv.ld, from[half], to[half], n, nh, hd, scale, s);
  });
  if (bias) {
    biases.resize(static_cast<size_t>(nh * n));
    for (int64_t h = 0; h < nh; ++h) bias_row(*bias, by_rel, pos, n, nh, h, biases.data() + h * n);
  }
  kernels::attention_heads_softmax(s, n, nh, bias ? biases.data() : nullptr);
  kernels::parallel_for(2, 2, [&](int64_t half, int) {
    kernels::attention_heads_values(kv.v, kv.ld, from[half], to[half], n, nh, hd, s, halves[half]);
  });
  for (int64_t i = 0; i < nh * hd; ++i) out[i] += second[static_cast<size_t>(i)];
}

}  // namespace

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
  // The caller's buckets, by relative position (by_rel[r], r in [lo, hi]): inside a task
  // running on a helper, `bucket` names the helper's.
  const int64_t* by_rel = bias ? bucket.data() - lo : nullptr;
  // The pool's threads share the work once there is enough of it, or enough of the
  // cache to read.
  const int64_t work = T * nh * n_keys * hd;
  const int64_t cache_bytes = 2 * n_keys * nh * hd * static_cast<int64_t>(sizeof(float));
  const int threads = work >= (1 << 16) || cache_bytes >= (32 << 10) ? kernels::pool_threads() : 1;
  // Position-major keys (a key's heads side by side: the caches, a qkv product's rows):
  // one task per query, every head's keys and then its values read key by key
  // (attention_heads), the same way on any thread. Prefill's queries read their keys
  // from the CPU's caches, where head by head the rows' stride (3-9 KB) left most of a
  // head's keys in a few of the L1 cache's sets (bench/README.md).
  if (kv.head_stride == hd && kv.ld >= nh * hd) {
    const int64_t n_decode = causal ? q_pos0 + 1 : n_keys;
    if (T == 1 && threads > 1 && kernels::attention_values_split(n_decode) > 0) {
      decode_in_halves(q, kv, n_decode, nh, hd, scale, by_rel, bias, q_pos0, out);
      return;
    }
    kernels::parallel_for(T, threads, [&](int64_t t, int) {
      thread_local std::vector<float> scores, biases;
      const int64_t pos = q_pos0 + t;
      const int64_t n = causal ? pos + 1 : n_keys;
      if (static_cast<int64_t>(scores.size()) < nh * n) {
        scores.resize(static_cast<size_t>(nh * n));
        biases.resize(static_cast<size_t>(nh * n));
      }
      if (bias)
        for (int64_t h = 0; h < nh; ++h) bias_row(*bias, by_rel, pos, n, nh, h, biases.data() + h * n);
      kernels::attention_heads(q + t * ldq, kv.k, kv.v, kv.ld, n, nh, hd, scale, out + t * ldo, scores.data(),
                               bias ? biases.data() : nullptr);
    });
    return;
  }
  // Otherwise (head-major keys: each head's one after another) one task per (query,
  // head), the same way on any thread.
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
      bias_row(*bias, by_rel, pos, n, nh, h, biases.data());
      row_bias = biases.data();
    }
    kernels::attention_head(q + t * ldq + h * hd, kv.k + h * kv.head_stride, kv.v + h * kv.head_stride, kv.ld, n,
                            hd, scale, out + t * ldo + h * hd, scores.data(), row_bias);
  });
}

}  // namespace hmoe
