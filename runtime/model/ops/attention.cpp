#include "runtime/model/ops/attention.h"

#include <algorithm>
#include <cmath>

#include "runtime/model/ops/elementwise.h"

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

void attend(const float* q, int64_t ldq, int64_t T, int64_t q_pos0, const KvView& kv, int64_t n_keys, bool causal,
            const AttentionHeads& heads, const PositionBias* bias, float* out, int64_t ldo) {
  const int64_t nh = heads.n_head, hd = heads.head_dim;
  const float scale = heads.scale;
  // Buckets of every relative position the call meets, key - query in [lo, hi].
  std::vector<int64_t> bucket;
  const int64_t lo = -(q_pos0 + T - 1), hi = n_keys - 1;
  if (bias) {
    bucket.resize(static_cast<size_t>(hi - lo + 1));
    for (int64_t r = lo; r <= hi; ++r) bucket[r - lo] = relative_position_bucket(r, *bias);
  }
#pragma omp parallel
  {
    std::vector<float> scores(static_cast<size_t>(n_keys));
#pragma omp for collapse(2) schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t h = 0; h < nh; ++h) {
        const float* qt = q + t * ldq + h * hd;
        const int64_t pos = q_pos0 + t;
        const int64_t n = causal ? pos + 1 : n_keys;
        for (int64_t j = 0; j < n; ++j) {
          const float* k = kv.k + j * kv.ld + h * hd;
          float s = 0.f;
          for (int64_t c = 0; c < hd; ++c) s += qt[c] * k[c];
          scores[j] = s * scale;
        }
        if (bias)
          for (int64_t j = 0; j < n; ++j) scores[j] += bias->table[bucket[j - pos - lo] * nh + h];
        softmax_inplace(scores.data(), n);
        float* o = out + t * ldo + h * hd;
        std::fill(o, o + hd, 0.f);
        for (int64_t j = 0; j < n; ++j) {
          const float* v = kv.v + j * kv.ld + h * hd;
          const float p = scores[j];
          for (int64_t c = 0; c < hd; ++c) o[c] += p * v[c];
        }
      }
    }
  }
}

}  // namespace hmoe
