// The work around the products, vectorised: GPT-2's gelu_new, the ReLU, softmax, layer
// norm, T5's RMS norm and one attention head (with an optional additive score bias:
// Switch's relative positions). Each has a plain scalar reference here (tests compare every SIMD
// target against it, within the tolerances written next to it); each output is computed
// by one fixed sequence of operations, so results do not depend on threads.
#pragma once
#include <cstdint>

namespace hmoe::kernels {

// x = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in place. tanh is Highway's
// (contrib/math: expm1-based, a few ulp), not libm's. Large n is split over the pool.
void gelu_new(float* x, int64_t n);
// libm's tanhf, float arithmetic: what the runtime computed before.
void gelu_new_reference(float* x, int64_t n);

// max(x, 0) in place (NaN stays NaN, as std::max(x, 0.f) keeps it). Exact: the SIMD
// version gives the reference's bits. Large n is split over the pool.
void relu(float* x, int64_t n);
void relu_reference(float* x, int64_t n);

// gelu_new or relu of n values on the calling thread alone (for a pool task: the pool
// does not nest), the same bits as gelu_new() and relu().
void gelu_new_one_thread(float* x, int64_t n);
void relu_one_thread(float* x, int64_t n);

// In-place softmax of n values (n >= 1): exp(x - max) / sum, the sum in float lanes.
void softmax(float* x, int64_t n);
// Scalar: libm's expf, the sum in double.
void softmax_reference(float* x, int64_t n);

// y[m] = (x[m] - mean) / sqrt(var + eps) * w + b over each of M rows of d values; mean
// and variance summed in double (as the reference), the rest in float.
void layer_norm(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps, float* y);
void layer_norm_reference(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps,
                          float* y);

// T5's RMS norm: y = w * (x * (1 / sqrt(mean(x^2) + eps))) over each of M rows of d
// values; the mean of squares summed in double and rounded to float (as PyTorch's f32
// mean), the rest in float.
void rms_norm(const float* x, int64_t M, int64_t d, const float* w, float eps, float* y);
void rms_norm_reference(const float* x, int64_t M, int64_t d, const float* w, float eps, float* y);

// One head of attention for one query: scores[j] = scale * (q . k_j) for j < n,
// p = softmax(scores), out = sum_j p[j] v_j. Key and value j start at k + j * ld and
// v + j * ld (hd values each); `scores` holds n floats of scratch. `bias` (n values, or
// null) is added to the scaled scores before the softmax: scores[j] = scale * (q . k_j)
// + bias[j].
void attention_head(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t hd,
                    float scale, float* out, float* scores, const float* bias = nullptr);
void attention_head_reference(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t hd,
                              float scale, float* out, float* scores, const float* bias = nullptr);

// attention_head for n_heads heads of one query at once, from position-major keys:
// head h's query at q + h * hd, its key j at k + j * ld + h * hd (its value likewise),
// its output at out + h * hd, its scores at scores + h * n (n_heads * n floats of
// scratch), its bias row (if any) at bias + h * n. Each head gets attention_head's bits
// (the same operations per head); only the order of the reads differs: every head's
// scores key by key, then every head's values, so that the keys and then the values are
// each read front to back as one stream. A decode step reads its cache from memory (the
// weights pushed it out of the CPU's caches), where one head's run of keys is too short
// for the hardware prefetchers to get far ahead; and head by head, rows 3-9 KB apart put
// a head's keys in a few of the L1 cache's sets (bench/README.md).
void attention_heads(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t n_heads,
                     int64_t hd, float scale, float* out, float* scores, const float* bias = nullptr);

// Both kernels sum a head's values over n keys in two halves, [0, split) and [split, n),
// each half's even and odd keys apart, then add the halves: split is n / 2 rounded down
// to even from kAttentionSplitKeys keys on, 0 (no halves) below. The halves let two
// threads share a decode step's reads, each reading its half of the keys and of the
// values front to back (attend()), with the bits of one thread doing both.
constexpr int64_t kAttentionSplitKeys = 64;
constexpr int64_t attention_values_split(int64_t n) { return n >= kAttentionSplitKeys ? n / 2 / 2 * 2 : 0; }

// attention_heads's steps, for a caller sharing them between threads; attention_heads
// is: scores over [0, n), softmax, values over each half, the second half added to the
// first (y[i] += x[i], in any order: each sum is one rounding).
// - Scores: scores[h * n + j] for keys j in [j0, j1).
// - Softmax: each head's row of n scores, plus its bias row (bias + h * n) if any.
// - Values: out[h * hd + c] = the sum of scores[h * n + j] * v_j[h * hd + c] over
//   [j0, j1) (j0 even).
void attention_heads_scores(const float* q, const float* k, int64_t ld, int64_t j0, int64_t j1, int64_t n,
                            int64_t n_heads, int64_t hd, float scale, float* scores);
void attention_heads_softmax(float* scores, int64_t n, int64_t n_heads, const float* bias);
void attention_heads_values(const float* v, int64_t ld, int64_t j0, int64_t j1, int64_t n, int64_t n_heads,
                            int64_t hd, const float* scores, float* out);
void attention_heads_reference(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t n_heads,
                               int64_t hd, float scale, float* out, float* scores, const float* bias = nullptr);

}  // namespace hmoe::kernels
