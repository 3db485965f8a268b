// Highway kernels of row_ops.h, compiled once per SIMD target. Tails shorter than a
// vector go through a padded buffer on the stack, so they take the same operations and
// no lane past the end is ever read or written (masked loads and stores are emulated
// with whole-vector accesses on some targets, which could fault or race).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/kernels/row_ops.h"
#include "runtime/kernels/thread_pool.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/kernels/row_ops_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hmoe {
namespace kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr size_t kMaxF = HWY_MAX_BYTES / sizeof(float);

// n < Lanes(d) values at p, the other lanes `fill`.
HWY_INLINE VF LoadTail(DF d, const float* HWY_RESTRICT p, int64_t n, float fill = 0.f) {
  HWY_ALIGN float buf[kMaxF];
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t i = 0; i < N; ++i) buf[i] = i < n ? p[i] : fill;
  return hn::Load(d, buf);
}
HWY_INLINE void StoreTail(VF v, DF d, float* HWY_RESTRICT p, int64_t n) {
  HWY_ALIGN float buf[kMaxF];
  hn::Store(v, d, buf);
  for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

void GeluNew(float* HWY_RESTRICT x, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto k = hn::Set(d, 0.7978845608028654f);  // sqrt(2 / pi)
  const auto c = hn::Set(d, 0.044715f);
  const auto half = hn::Set(d, 0.5f), one = hn::Set(d, 1.f);
  auto gelu = [&](decltype(k) v) {
    auto inner = hn::Mul(k, hn::Add(v, hn::Mul(hn::Mul(hn::Mul(c, v), v), v)));
    // A NaN lane goes to Tanh as 0: Highway's Exp converts it to int (undefined behaviour on
    // the scalar target); the result stays NaN through the factor v.
    inner = hn::IfThenElseZero(hn::Eq(inner, inner), inner);
    return hn::Mul(hn::Mul(half, v), hn::Add(one, hn::Tanh(d, inner)));
  };
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(gelu(hn::LoadU(d, x + i)), d, x + i);
  if (i < n) StoreTail(gelu(LoadTail(d, x + i, n - i)), d, x + i, n - i);
}

void Relu(float* HWY_RESTRICT x, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto zero = hn::Zero(d);
  // Not hn::Max: on x86 it returns the second operand for a NaN; x < 0 is false for a
  // NaN, which stays, as in the reference.
  auto relu = [&](VF v) { return hn::IfThenElse(hn::Lt(v, zero), zero, v); };
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(relu(hn::LoadU(d, x + i)), d, x + i);
  if (i < n) StoreTail(relu(LoadTail(d, x + i, n - i)), d, x + i, n - i);
}

// The largest of n values, then x = exp(x - max) / sum.
void Softmax(float* HWY_RESTRICT x, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto lowest = hn::Set(d, -std::numeric_limits<float>::infinity());
  auto vmax = lowest;
  int64_t i = 0;
  for (; i + N <= n; i += N) vmax = hn::Max(vmax, hn::LoadU(d, x + i));
  const int64_t tail = n - i;
  const float inf = std::numeric_limits<float>::infinity();
  if (tail) vmax = hn::Max(vmax, LoadTail(d, x + i, tail, -inf));
  const auto mx = hn::Set(d, hn::GetLane(hn::MaxOfLanes(d, vmax)));
  auto sum = hn::Zero(d);
  for (i = 0; i + N <= n; i += N) {
    const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), mx));
    sum = hn::Add(sum, e);
    hn::StoreU(e, d, x + i);
  }
  if (tail) {
    // Padding lanes are -inf: exp gives 0 there.
    const auto e = hn::Exp(d, hn::Sub(LoadTail(d, x + i, tail, -inf), mx));
    sum = hn::Add(sum, e);
    StoreTail(e, d, x + i, tail);
  }
  const auto inv = hn::Set(d, 1.f / hn::GetLane(hn::SumOfLanes(d, sum)));
  for (i = 0; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), inv), d, x + i);
  if (tail) StoreTail(hn::Mul(LoadTail(d, x + i, tail), inv), d, x + i, tail);
}

void LayerNorm(const float* HWY_RESTRICT x, int64_t M, int64_t dim, const float* HWY_RESTRICT w,
               const float* HWY_RESTRICT b, float eps, float* HWY_RESTRICT y) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> dh;  // as many floats as doubles
  const int64_t ND = static_cast<int64_t>(hn::Lanes(dd));
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * dim;
    float* yr = y + m * dim;
    auto s = hn::Zero(dd);
    int64_t i = 0;
    for (; i + ND <= dim; i += ND) s = hn::Add(s, hn::PromoteTo(dd, hn::LoadU(dh, xr + i)));
    double mean = hn::GetLane(hn::SumOfLanes(dd, s));
    for (; i < dim; ++i) mean += xr[i];
    mean /= static_cast<double>(dim);
    const auto vmean = hn::Set(dd, mean);
    auto v = hn::Zero(dd);
    for (i = 0; i + ND <= dim; i += ND) {
      const auto c = hn::Sub(hn::PromoteTo(dd, hn::LoadU(dh, xr + i)), vmean);
      v = hn::Add(v, hn::Mul(c, c));
    }
    double var = hn::GetLane(hn::SumOfLanes(dd, v));
    for (; i < dim; ++i) {
      const double c = xr[i] - mean;
      var += c * c;
    }
    var /= static_cast<double>(dim);
    const auto inv = hn::Set(d, static_cast<float>(1.0 / std::sqrt(var + eps)));
    const auto mu = hn::Set(d, static_cast<float>(mean));
    for (i = 0; i + N <= dim; i += N) {
      const auto t = hn::Mul(hn::Mul(hn::Sub(hn::LoadU(d, xr + i), mu), inv), hn::LoadU(d, w + i));
      hn::StoreU(hn::Add(t, hn::LoadU(d, b + i)), d, yr + i);
    }
    if (i < dim) {
      const int64_t r = dim - i;
      const auto t = hn::Mul(hn::Mul(hn::Sub(LoadTail(d, xr + i, r), mu), inv), LoadTail(d, w + i, r));
      StoreTail(hn::Add(t, LoadTail(d, b + i, r)), d, yr + i, r);
    }
  }
}

void RmsNorm(const float* HWY_RESTRICT x, int64_t M, int64_t dim, const float* HWY_RESTRICT w, float eps,
             float* HWY_RESTRICT y) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> dh;  // as many floats as doubles
  const int64_t ND = static_cast<int64_t>(hn::Lanes(dd));
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * dim;
    float* yr = y + m * dim;
    auto s = hn::Zero(dd);
    int64_t i = 0;
    for (; i + ND <= dim; i += ND) {
      const auto v = hn::PromoteTo(dd, hn::LoadU(dh, xr + i));
      s = hn::Add(s, hn::Mul(v, v));  // exact: a float's square fits a double
    }
    double ss = hn::GetLane(hn::SumOfLanes(dd, s));
    for (; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float var = static_cast<float>(ss / static_cast<double>(dim));
    const auto inv = hn::Set(d, 1.f / std::sqrt(var + eps));
    for (i = 0; i + N <= dim; i += N)
      hn::StoreU(hn::Mul(hn::LoadU(d, w + i), hn::Mul(hn::LoadU(d, xr + i), inv)), d, yr + i);
    if (i < dim) {
      const int64_t r = dim - i;
      StoreTail(hn::Mul(LoadTail(d, w + i, r), hn::Mul(LoadTail(d, xr + i, r), inv)), d, yr + i, r);
    }
  }
}

// One key's score: the fused products of q and k over the whole vectors of the head
// (hv floats), then its tail (ht), summed over the lanes and scaled. AttentionHead's
// four-key loop takes these same steps for each of its keys.
HWY_INLINE float KeyScore(DF d, const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, int64_t hv, int64_t ht,
                          float scale) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto a = hn::Zero(d);
  for (int64_t c = 0; c < hv; c += N) a = hn::MulAdd(hn::LoadU(d, q + c), hn::LoadU(d, k + c), a);
  if (ht) a = hn::MulAdd(LoadTail(d, q + hv, ht), LoadTail(d, k + hv, ht), a);
  return hn::GetLane(hn::SumOfLanes(d, a)) * scale;
}

// Each head's row of n scores plus its bias row (if any), then its softmax.
void AttentionHeadsSoftmax(float* HWY_RESTRICT scores, int64_t n, int64_t n_heads, const float* HWY_RESTRICT bias) {
  for (int64_t h = 0; h < n_heads; ++h) {
    float* sh = scores + h * n;
    if (bias)
      for (int64_t j = 0; j < n; ++j) sh[j] += bias[h * n + j];
    Softmax(sh, n);
  }
}

void AttentionHead(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, const float* HWY_RESTRICT v,
                   int64_t ld, int64_t n, int64_t hd, float scale, float* HWY_RESTRICT out,
                   float* HWY_RESTRICT scores, const float* HWY_RESTRICT bias) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t hv = hd - hd % N, ht = hd - hv;
  // Ahead of the loads: the keys 16 on, and these keys' values (read after the softmax).
  // One head's run of keys (16 KB at 64 keys of 64 floats) is too short for the hardware
  // prefetchers to get far ahead of it: cold, a head-major cache was read 1.3x as fast
  // with these as without (bench/README.md). (attend() reads the caches, position-major
  // now, with AttentionHeads; this serves head-major views.)
  constexpr int64_t kKeysAhead = 16, kLine = 64 / sizeof(float);
  for (int64_t a = 0; a < std::min(n, kKeysAhead); ++a)
    for (int64_t c = 0; c < hd; c += kLine) __builtin_prefetch(k + a * ld + c);
  // Scores, four keys at a time (q loaded once for the four).
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* k0 = k + j * ld;
    for (int64_t r = j; r < j + 4; ++r)
      for (int64_t c = 0; c < hd; c += kLine) {
        if (r + kKeysAhead < n) __builtin_prefetch(k + (r + kKeysAhead) * ld + c);
        __builtin_prefetch(v + r * ld + c);
      }
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    for (int64_t c = 0; c < hv; c += N) {
      const auto qv = hn::LoadU(d, q + c);
      a0 = hn::MulAdd(qv, hn::LoadU(d, k0 + c), a0);
      a1 = hn::MulAdd(qv, hn::LoadU(d, k0 + ld + c), a1);
      a2 = hn::MulAdd(qv, hn::LoadU(d, k0 + 2 * ld + c), a2);
      a3 = hn::MulAdd(qv, hn::LoadU(d, k0 + 3 * ld + c), a3);
    }
    if (ht) {
      const auto qv = LoadTail(d, q + hv, ht);
      a0 = hn::MulAdd(qv, LoadTail(d, k0 + hv, ht), a0);
      a1 = hn::MulAdd(qv, LoadTail(d, k0 + ld + hv, ht), a1);
      a2 = hn::MulAdd(qv, LoadTail(d, k0 + 2 * ld + hv, ht), a2);
      a3 = hn::MulAdd(qv, LoadTail(d, k0 + 3 * ld + hv, ht), a3);
    }
    scores[j] = hn::GetLane(hn::SumOfLanes(d, a0)) * scale;
    scores[j + 1] = hn::GetLane(hn::SumOfLanes(d, a1)) * scale;
    scores[j + 2] = hn::GetLane(hn::SumOfLanes(d, a2)) * scale;
    scores[j + 3] = hn::GetLane(hn::SumOfLanes(d, a3)) * scale;
  }
  for (; j < n; ++j) scores[j] = KeyScore(d, q, k + j * ld, hv, ht, scale);
  AttentionHeadsSoftmax(scores, n, 1, bias);
  // out = sum_j p_j v_j, one vector of the head at a time; over the two halves
  // attention_values_split gives, each half's even and odd keys apart.
  const int64_t split = attention_values_split(n);
  for (int64_t c = 0; c < hd; c += N) {
    const bool full = c + N <= hd;
    auto half_sum = [&](int64_t j0, int64_t j1) {
      auto o0 = hn::Zero(d), o1 = hn::Zero(d);
      int64_t jj = j0;
      for (; jj + 2 <= j1; jj += 2) {
        const float* v0 = v + jj * ld + c;
        const auto x0 = full ? hn::LoadU(d, v0) : LoadTail(d, v0, ht);
        const auto x1 = full ? hn::LoadU(d, v0 + ld) : LoadTail(d, v0 + ld, ht);
        o0 = hn::MulAdd(hn::Set(d, scores[jj]), x0, o0);
        o1 = hn::MulAdd(hn::Set(d, scores[jj + 1]), x1, o1);
      }
      if (jj < j1) {
        const float* v0 = v + jj * ld + c;
        o0 = hn::MulAdd(hn::Set(d, scores[jj]), full ? hn::LoadU(d, v0) : LoadTail(d, v0, ht), o0);
      }
      return hn::Add(o0, o1);
    };
    const auto o = split ? hn::Add(half_sum(0, split), half_sum(split, n)) : half_sum(0, n);
    if (full)
      hn::StoreU(o, d, out + c);
    else
      StoreTail(o, d, out + c, ht);
  }
}

// AttentionHead's operations for every head, in another order of reads: each head's
// score of key j is AttentionHead's (the same fused products over the same chunks, the
// same sum of lanes), and each output lane sums its half's even keys and odd keys apart,
// as AttentionHead's o0 and o1, so every head gets AttentionHead's bits. The scores go
// position by position over every head, then the values the same way: from a
// position-major cache that is the keys, then the values, front to back, one stream
// each (see attention_heads in row_ops.h). The three steps are apart so that two
// threads can share a decode step's (attention_heads_scores, _values).
void AttentionHeadsScores(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, int64_t ld, int64_t j0,
                          int64_t j1, int64_t n, int64_t n_heads, int64_t hd, float scale,
                          float* HWY_RESTRICT scores) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t hv = hd - hd % N, ht = hd - hv;
  for (int64_t j = j0; j < j1; ++j) {
    const float* kj = k + j * ld;
    for (int64_t h = 0; h < n_heads; ++h) scores[h * n + j] = KeyScore(d, q + h * hd, kj + h * hd, hv, ht, scale);
  }
}

void AttentionHeadsValues(const float* HWY_RESTRICT v, int64_t ld, int64_t j0, int64_t j1, int64_t n,
                          int64_t n_heads, int64_t hd, const float* HWY_RESTRICT scores, float* HWY_RESTRICT out) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t hv = hd - hd % N, ht = hd - hv;
  // The even keys' sums and the odd keys', a vector per chunk of each head, in a buffer
  // of this thread's (kept from call to call: a decode step allocates nothing).
  const int64_t chunks = (hd + N - 1) / N, per_parity = n_heads * chunks * N;
  thread_local std::vector<float> sums;
  if (static_cast<int64_t>(sums.size()) < 2 * per_parity + N) sums.resize(static_cast<size_t>(2 * per_parity + N));
  // Aligned for whole-vector loads and stores.
  float* acc = sums.data() + (N - (reinterpret_cast<uintptr_t>(sums.data()) / sizeof(float)) % N) % N;
  std::fill(acc, acc + 2 * per_parity, 0.f);
  for (int64_t j = j0; j < j1; ++j) {
    const float* vj = v + j * ld;
    float* accj = acc + ((j - j0) & 1) * per_parity;
    for (int64_t h = 0; h < n_heads; ++h) {
      const auto p = hn::Set(d, scores[h * n + j]);
      const float* vh = vj + h * hd;
      float* ah = accj + h * chunks * N;
      for (int64_t c = 0; c < hv; c += N)
        hn::Store(hn::MulAdd(p, hn::LoadU(d, vh + c), hn::Load(d, ah + c)), d, ah + c);
      if (ht) hn::Store(hn::MulAdd(p, LoadTail(d, vh + hv, ht), hn::Load(d, ah + hv)), d, ah + hv);
    }
  }
  for (int64_t h = 0; h < n_heads; ++h) {
    const float* e = acc + h * chunks * N;
    const float* o = e + per_parity;
    for (int64_t c = 0; c < hv; c += N)
      hn::StoreU(hn::Add(hn::Load(d, e + c), hn::Load(d, o + c)), d, out + h * hd + c);
    if (ht) StoreTail(hn::Add(hn::Load(d, e + hv), hn::Load(d, o + hv)), d, out + h * hd + hv, ht);
  }
}

void AttentionHeads(const float* HWY_RESTRICT q, const float* HWY_RESTRICT k, const float* HWY_RESTRICT v,
                    int64_t ld, int64_t n, int64_t n_heads, int64_t hd, float scale, float* HWY_RESTRICT out,
                    float* HWY_RESTRICT scores, const float* HWY_RESTRICT bias) {
  AttentionHeadsScores(q, k, ld, 0, n, n, n_heads, hd, scale, scores);
  AttentionHeadsSoftmax(scores, n, n_heads, bias);
  const int64_t split = attention_values_split(n);
  if (!split) return AttentionHeadsValues(v, ld, 0, n, n, n_heads, hd, scores, out);
  thread_local std::vector<float> second;
  if (static_cast<int64_t>(second.size()) < n_heads * hd) second.resize(static_cast<size_t>(n_heads * hd));
  AttentionHeadsValues(v, ld, 0, split, n, n_heads, hd, scores, out);
  AttentionHeadsValues(v, ld, split, n, n, n_heads, hd, scores, second.data());
  for (int64_t i = 0; i < n_heads * hd; ++i) out[i] += second[i];
}

}  // namespace HWY_NAMESPACE
}  // namespace kernels
}  // namespace hmoe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hmoe {
namespace kernels {

HWY_EXPORT(GeluNew);
HWY_EXPORT(Relu);
HWY_EXPORT(RmsNorm);
HWY_EXPORT(Softmax);
HWY_EXPORT(LayerNorm);
HWY_EXPORT(AttentionHead);
HWY_EXPORT(AttentionHeads);
HWY_EXPORT(AttentionHeadsScores);
HWY_EXPORT(AttentionHeadsSoftmax);
HWY_EXPORT(AttentionHeadsValues);

void gelu_new(float* x, int64_t n) {
  // Above this many values the pool splits them (each chunk is about 20 us of work).
  constexpr int64_t kChunk = 16384;
  const int threads = n >= 4 * kChunk ? pool_threads() : 1;
  if (threads <= 1) return HWY_DYNAMIC_DISPATCH(GeluNew)(x, n);
  parallel_for((n + kChunk - 1) / kChunk, threads, [&](int64_t t, int) {
    const int64_t i = t * kChunk;
    HWY_DYNAMIC_DISPATCH(GeluNew)(x + i, std::min(kChunk, n - i));
  });
}

void relu(float* x, int64_t n) {
  constexpr int64_t kChunk = 65536;  // the ReLU is a few times cheaper a value than gelu_new
  const int threads = n >= 4 * kChunk ? pool_threads() : 1;
  if (threads <= 1) return HWY_DYNAMIC_DISPATCH(Relu)(x, n);
  parallel_for((n + kChunk - 1) / kChunk, threads, [&](int64_t t, int) {
    const int64_t i = t * kChunk;
    HWY_DYNAMIC_DISPATCH(Relu)(x + i, std::min(kChunk, n - i));
  });
}

void gelu_new_one_thread(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(GeluNew)(x, n); }
void relu_one_thread(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(Relu)(x, n); }

void rms_norm(const float* x, int64_t M, int64_t d, const float* w, float eps, float* y) {
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, M, d, w, eps, y);
}

void softmax(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(Softmax)(x, n); }

void layer_norm(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps, float* y) {
  HWY_DYNAMIC_DISPATCH(LayerNorm)(x, M, d, w, b, eps, y);
}

void attention_head(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t hd,
                    float scale, float* out, float* scores, const float* bias) {
  HWY_DYNAMIC_DISPATCH(AttentionHead)(q, k, v, ld, n, hd, scale, out, scores, bias);
}

void attention_heads(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t n_heads,
                     int64_t hd, float scale, float* out, float* scores, const float* bias) {
  HWY_DYNAMIC_DISPATCH(AttentionHeads)(q, k, v, ld, n, n_heads, hd, scale, out, scores, bias);
}

void attention_heads_scores(const float* q, const float* k, int64_t ld, int64_t j0, int64_t j1, int64_t n,
                            int64_t n_heads, int64_t hd, float scale, float* scores) {
  HWY_DYNAMIC_DISPATCH(AttentionHeadsScores)(q, k, ld, j0, j1, n, n_heads, hd, scale, scores);
}

void attention_heads_softmax(float* scores, int64_t n, int64_t n_heads, const float* bias) {
  HWY_DYNAMIC_DISPATCH(AttentionHeadsSoftmax)(scores, n, n_heads, bias);
}

void attention_heads_values(const float* v, int64_t ld, int64_t j0, int64_t j1, int64_t n, int64_t n_heads,
                            int64_t hd, const float* scores, float* out) {
  HWY_DYNAMIC_DISPATCH(AttentionHeadsValues)(v, ld, j0, j1, n, n_heads, hd, scores, out);
}

}  // namespace kernels
}  // namespace hmoe
#endif  // HWY_ONCE
