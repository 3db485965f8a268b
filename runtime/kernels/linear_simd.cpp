// Highway kernels of linear(): y[m, r] = sum_c x[m, c] * W[r, c] + bias[r].
//
// Shape of the work. Decode (M = 1) streams the weights once and is bound by memory
// bandwidth; small batches (M up to ~32) reuse each decoded weight vector across inputs.
// A tile holds R rows x MT inputs of accumulators, one vector per (row, input):
// each weight vector is decoded once per tile and each input vector loaded once per
// tile, and every accumulator is reduced across lanes once, at the end (a per-row
// dot with its own reduction, docs/DEPENDENCIES.md, runs at a fraction of the bandwidth).
//
// Determinism. Every (row, input) pair is summed by the same sequence of operations
// whatever the tile shape, the thread count or the batch size M: lane-wise
// multiply-adds over the columns in order, a zero-padded tail, then one SumOfLanes.
// Threads only decide which tiles they run, so results do not depend on them.
//
// Two paths:
//  - float: weights decoded to f32 (f16/bf16 widened, q8/q4 times their block scale,
//    exact in f32) and multiply-added with the f32 inputs. For M above one tile the
//    rows of a block are decoded once into an f32 scratch (same values, same result).
//  - int8 (q8_0/q4_0): inputs quantised per block to int8 (quantize_activations),
//    weights widened to int16, integer dot per block (ReorderWidenMulAccumulate, the
//    i16 pmaddwd; Highway 1.0.3 has no int8 dot), then acc += dot * (sw * sx) in f32.
//
// Scalable targets (SVE, SVE2 and their fixed-width variants; HWY_HAVE_SCALABLE). Their
// vectors are sizeless types, which cannot be array elements or struct members, so the
// tiles there keep one named variable per accumulator (up to 8 rows x 4 inputs, unused
// ones compiled away by `if constexpr`). They run the same operations per (row, input)
// as the array tiles of the other targets, so the determinism contract holds unchanged;
// only the vector length, known at run time, differs between CPUs.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/half.h"
#include "runtime/kernels/linear_simd.h"
#include "runtime/kernels/thread_pool.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/kernels/linear_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hmoe {
namespace kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int64_t kBlock = kQuantBlock;

// Register files of 32 vectors hold 4x4 tiles; 16-vector ones get narrower tiles.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_ARCH_ARM
constexpr int kWideRegs = 1;
#else
constexpr int kWideRegs = 0;
#endif

// ------------------------------------------------------------------ float path
// f32 lanes, at most 16 so a chunk never straddles two 32-weight blocks.
using DF = hn::CappedTag<float, 16>;
using VF = hn::Vec<DF>;
using DI32 = hn::RebindToSigned<DF>;
constexpr size_t kMaxLanesF = 16;

// Row sources: Load(d, i, c) gives weights [c, c + N) of tile row i as f32 (c a
// multiple of N); Scalar(i, c) one weight, for the zero-padded tail.
struct SrcF32 {
  const float* w;
  int64_t K;
  HWY_INLINE VF Load(DF d, int i, int64_t c) const { return hn::LoadU(d, w + i * K + c); }
  float Scalar(int i, int64_t c) const { return w[i * K + c]; }
};

// f16 at p widened to f32, as quant::f16_to_f32 does. Highway 1.0.3 widens f16 in
// software where the target has no conversion instruction (SSSE3, SSE4, scalar) and
// there takes exponent 31 for a normal one: infinities and NaNs would come out finite,
// near 65536. Those lanes are rebuilt from the bits.
HWY_INLINE VF LoadF16(DF d, const uint16_t* HWY_RESTRICT p) {
  const hn::Rebind<hwy::float16_t, DF> dh;
  const VF v = hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SSSE3 || HWY_TARGET == HWY_SSE4
  const hn::RebindToUnsigned<DF> du;
  const auto bits = hn::PromoteTo(du, hn::LoadU(hn::Rebind<uint16_t, DF>(), p));
  const auto exp = hn::Set(du, 0x7C00u);
  const auto special = hn::Eq(hn::And(bits, exp), exp);
  const auto sign = hn::ShiftLeft<16>(hn::And(bits, hn::Set(du, 0x8000u)));
  const auto mantissa = hn::ShiftLeft<13>(hn::And(bits, hn::Set(du, 0x3FFu)));
  const auto inf_nan = hn::Or(hn::Or(sign, hn::Set(du, 0x7F800000u)), mantissa);
  return hn::IfThenElse(hn::RebindMask(d, special), hn::BitCast(d, inf_nan), v);
#else
  return v;
#endif
}

struct SrcF16 {
  const uint16_t* w;
  int64_t K;
  HWY_INLINE VF Load(DF d, int i, int64_t c) const { return LoadF16(d, w + i * K + c); }
  float Scalar(int i, int64_t c) const { return quant::f16_to_f32(w[i * K + c]); }
};

struct SrcBF16 {
  const uint16_t* w;
  int64_t K;
  HWY_INLINE VF Load(DF d, int i, int64_t c) const {
    const hn::Rebind<hwy::bfloat16_t, DF> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::bfloat16_t*>(w + i * K + c)));
  }
  float Scalar(int i, int64_t c) const { return quant::bf16_to_f32(w[i * K + c]); }
};

// Block types read their scales, already f32, from `sc` (tile row i at i * K / 32).
struct SrcQ8 {
  const int8_t* q;
  int64_t K;
  const float* sc;
  HWY_INLINE VF Load(DF d, int i, int64_t c) const {
    const hn::Rebind<int8_t, DF> d8;
    const VF v = hn::ConvertTo(d, hn::PromoteTo(DI32(), hn::LoadU(d8, q + i * K + c)));
    return hn::Mul(v, hn::Set(d, sc[i * (K / kBlock) + c / kBlock]));
  }
  float Scalar(int, int64_t) const { return 0.f; }  // K % 32 == 0: no tail
};

struct SrcQ4 {
  const uint8_t* q;  // K / 2 bytes per row
  int64_t K;
  const float* sc;
  HWY_INLINE VF Load(DF d, int i, int64_t c) const {
    const hn::Rebind<uint8_t, DF> d8;
    const int64_t pos = c % kBlock;  // chunks lie in one half: low nibbles (< 16) or high
    const uint8_t* p = q + i * (K / 2) + (c / kBlock) * (kBlock / 2) + (pos & 15);
    const auto bytes = hn::LoadU(d8, p);
    const auto nib = pos < 16 ? hn::And(bytes, hn::Set(d8, uint8_t{0x0F})) : hn::ShiftRight<4>(bytes);
    const VF u = hn::ConvertTo(d, hn::PromoteTo(DI32(), nib));
    const VF s = hn::Set(d, sc[i * (K / kBlock) + c / kBlock]);
    // (u - 8) * s as one multiply-add: u * s and 8 * s are exact, so is the result.
    return hn::MulAdd(u, s, hn::Mul(hn::Set(d, -8.f), s));
  }
  float Scalar(int, int64_t) const { return 0.f; }
};

// R rows x MT inputs. x points at the tile's first input, y at its first output
// (y[m * ldy + i]), bias at the tile's first row or null.
#if !HWY_HAVE_SCALABLE
template <int R, int MT, class Src>
HWY_NOINLINE void FloatTile(const Src& src, int64_t K, const float* HWY_RESTRICT x, int64_t ldx,
                            const float* HWY_RESTRICT bias, float* HWY_RESTRICT y, int64_t ldy) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF acc[R][MT];
  for (int i = 0; i < R; ++i)
    for (int m = 0; m < MT; ++m) acc[i][m] = hn::Zero(d);
  const int64_t Kv = K - K % N;
  for (int64_t c = 0; c < Kv; c += N) {
    VF w[R];
    for (int i = 0; i < R; ++i) w[i] = src.Load(d, i, c);
    for (int m = 0; m < MT; ++m) {
      const VF xv = hn::LoadU(d, x + m * ldx + c);
      for (int i = 0; i < R; ++i) acc[i][m] = hn::MulAdd(w[i], xv, acc[i][m]);
    }
  }
  if (Kv < K) {  // zero-padded tail: the padding adds 0 * 0
    HWY_ALIGN float buf[kMaxLanesF];
    VF w[R];
    for (int i = 0; i < R; ++i) {
      for (int64_t j = 0; j < N; ++j) buf[j] = Kv + j < K ? src.Scalar(i, Kv + j) : 0.f;
      w[i] = hn::Load(d, buf);
    }
    for (int m = 0; m < MT; ++m) {
      for (int64_t j = 0; j < N; ++j) buf[j] = Kv + j < K ? x[m * ldx + Kv + j] : 0.f;
      const VF xv = hn::Load(d, buf);
      for (int i = 0; i < R; ++i) acc[i][m] = hn::MulAdd(w[i], xv, acc[i][m]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int m = 0; m < MT; ++m)
      y[m * ldy + i] = hn::GetLane(hn::SumOfLanes(d, acc[i][m])) + (bias ? bias[i] : 0.f);
}
#else   // HWY_HAVE_SCALABLE: the same tile, one named variable per vector.

// HMOE_ROWS_OF(X, m) expands X(i, m) for every tile row i; HMOE_TILE_OF(X) X(i, m) for
// every (row, input); HMOE_EACH_ROW(X) / HMOE_EACH_INPUT(X) X(i) / X(m).
#define HMOE_ROWS_OF(X, m) X(0, m) X(1, m) X(2, m) X(3, m) X(4, m) X(5, m) X(6, m) X(7, m)
#define HMOE_TILE_OF(X) HMOE_ROWS_OF(X, 0) HMOE_ROWS_OF(X, 1) HMOE_ROWS_OF(X, 2) HMOE_ROWS_OF(X, 3)
#define HMOE_EACH_ROW(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define HMOE_EACH_INPUT(X) X(0) X(1) X(2) X(3)

// Tile row i's vector at column c, or zeros for a row the tile does not have.
template <int i, int R, class D, class Src>
HWY_INLINE hn::Vec<D> RowVec(const Src& src, D d, int64_t c) {
  if constexpr (i < R) {
    return src.Load(d, i, c);
  } else {
    (void)src, (void)c;
    return hn::Zero(d);
  }
}

// Tile row i's weights [Kv, K), zero-padded to one vector (the tail), in buf.
template <int i, int R, class Src>
HWY_INLINE VF TailRow(const Src& src, DF d, int64_t Kv, int64_t K, float* HWY_RESTRICT buf) {
  if constexpr (i < R) {
    const int64_t N = static_cast<int64_t>(hn::Lanes(d));
    for (int64_t j = 0; j < N; ++j) buf[j] = Kv + j < K ? src.Scalar(i, Kv + j) : 0.f;
    return hn::Load(d, buf);
  } else {
    (void)src, (void)Kv, (void)K, (void)buf;
    return hn::Zero(d);
  }
}

HWY_INLINE VF TailInput(DF d, const float* HWY_RESTRICT x, int64_t Kv, int64_t K, float* HWY_RESTRICT buf) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t j = 0; j < N; ++j) buf[j] = Kv + j < K ? x[Kv + j] : 0.f;
  return hn::Load(d, buf);
}

template <int R, int MT, class Src>
HWY_NOINLINE void FloatTile(const Src& src, int64_t K, const float* HWY_RESTRICT x, int64_t ldx,
                            const float* HWY_RESTRICT bias, float* HWY_RESTRICT y, int64_t ldy) {
  static_assert(R >= 1 && R <= 8 && MT >= 1 && MT <= 4, "named accumulators: at most 8 rows x 4 inputs");
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
#define HMOE_ZERO(i, m) VF acc##i##m = hn::Zero(d);
  HMOE_TILE_OF(HMOE_ZERO)
#undef HMOE_ZERO
  // acc(i, m) += w(i) * xv, for the rows of the tile.
#define HMOE_FMA(i, m) \
  if constexpr (i < R) acc##i##m = hn::MulAdd(w##i, xv, acc##i##m);
  const int64_t Kv = K - K % N;
  for (int64_t c = 0; c < Kv; c += N) {
#define HMOE_W(i) const VF w##i = RowVec<i, R>(src, d, c);
    HMOE_EACH_ROW(HMOE_W)
#undef HMOE_W
#define HMOE_X(m)                                   \
  if constexpr (m < MT) {                           \
    const VF xv = hn::LoadU(d, x + m * ldx + c);    \
    HMOE_ROWS_OF(HMOE_FMA, m)                       \
  }
    HMOE_EACH_INPUT(HMOE_X)
#undef HMOE_X
  }
  if (Kv < K) {  // zero-padded tail: the padding adds 0 * 0
    HWY_ALIGN float buf[kMaxLanesF];
#define HMOE_W(i) const VF w##i = TailRow<i, R>(src, d, Kv, K, buf);
    HMOE_EACH_ROW(HMOE_W)
#undef HMOE_W
#define HMOE_X(m)                                            \
  if constexpr (m < MT) {                                    \
    const VF xv = TailInput(d, x + m * ldx, Kv, K, buf);     \
    HMOE_ROWS_OF(HMOE_FMA, m)                                \
  }
    HMOE_EACH_INPUT(HMOE_X)
#undef HMOE_X
  }
#undef HMOE_FMA
#define HMOE_Y(i, m)                 \
  if constexpr (i < R && m < MT)     \
    y[m * ldy + i] = hn::GetLane(hn::SumOfLanes(d, acc##i##m)) + (bias ? bias[i] : 0.f);
  HMOE_TILE_OF(HMOE_Y)
#undef HMOE_Y
}
#endif  // HWY_HAVE_SCALABLE

// Widens the f16 scales of rows [r0, r0 + n) into sc (row-major, K/32 per row).
HWY_INLINE void WidenScales(const MatrixView& W, int64_t r0, int n, float* sc) {
  const int64_t nb = W.cols / kBlock;
  const int64_t total = n * nb;  // the rows' scales are contiguous
  const uint16_t* s = W.row_scales(r0);
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  for (; j + N <= total; j += N) hn::StoreU(LoadF16(d, s + j), d, sc + j);
  for (; j < total; ++j) sc[j] = quant::f16_to_f32(s[j]);
}

// Tile shapes: decode uses 8 rows for 8 independent load/FMA streams; batches use
// R x MT tiles sized to the register file.
constexpr int kRowsDecode = 8;
constexpr int kRowsBatch = 4;
constexpr int kInputsBatch = kWideRegs ? 4 : 2;

// Inputs per pass over the weights: their activations (f32) stay in L2 while every row
// block streams by.
inline int64_t InputChunk(int64_t K, int64_t bytes_per_value, int64_t M) {
  const int64_t fit = (256 * 1024) / std::max<int64_t>(1, K * bytes_per_value);
  const int64_t chunk = std::max<int64_t>(kInputsBatch, fit / kInputsBatch * kInputsBatch);
  return std::min(M, chunk);
}

// Whether a product is worth a thread team (start-up costs a few microseconds).
inline bool WorthThreads(const LinearProblem& p) { return p.W.rows * p.W.cols * p.M >= (1 << 16); }

// Runs body(t, n) for t in [0, n), each a share of the row blocks: on the calling thread
// alone (n = 1) when the product is not worth threads, else n = several shares per
// thread handed out by the kernels' pool (thread_pool.h), so that a helper that is not
// running delays at most one share. The bodies split their blocks by (t, n) themselves.
template <class Body>
HWY_INLINE void MaybeParallel(bool threads, const Body& body) {
  const int nt = threads ? pool_threads() : 1;
  if (nt <= 1) return body(int64_t{0}, int64_t{1});
  const int64_t shares = int64_t{nt} * 8;
  parallel_for(shares, nt, [&](int64_t t, int) { body(t, shares); });
}

// Runs rows [r0, r0 + R) for all `mc` inputs starting at input m0, tile by tile.
template <int R, class Src>
HWY_INLINE void FloatRows(const Src& src, const LinearProblem& p, int64_t r0, int64_t m0, int64_t mc) {
  const int64_t K = p.W.cols;
  const float* bias = p.bias ? p.bias + r0 : nullptr;
  int64_t m = 0;
  // Decode-sized row blocks (LinearFloat: M = 1) get one-input tiles only: no 8-row batch
  // tiles are compiled, which would never run.
  if (R == kRowsDecode || mc == 1) {
    for (; m < mc; ++m)
      FloatTile<R, 1>(src, K, p.x + (m0 + m) * p.ldx, p.ldx, bias, p.y + (m0 + m) * p.ldy + r0, p.ldy);
    return;
  }
  if constexpr (R != kRowsDecode) {
    for (; m + kInputsBatch <= mc; m += kInputsBatch)
      FloatTile<R, kInputsBatch>(src, K, p.x + (m0 + m) * p.ldx, p.ldx, bias, p.y + (m0 + m) * p.ldy + r0, p.ldy);
    if (kInputsBatch > 2 && m + 2 <= mc) {  // a pair left over still shares its weight decodes
      FloatTile<R, 2>(src, K, p.x + (m0 + m) * p.ldx, p.ldx, bias, p.y + (m0 + m) * p.ldy + r0, p.ldy);
      m += 2;
    }
    for (; m < mc; ++m)
      FloatTile<R, 1>(src, K, p.x + (m0 + m) * p.ldx, p.ldx, bias, p.y + (m0 + m) * p.ldy + r0, p.ldy);
  }
}

// Per-thread scratch of the float path.
struct FloatScratch {
  std::vector<float> scales;   // rows of a block x K/32
  std::vector<float> decoded;  // rows of a block x K, for batches of block/16-bit types
};

// Builds the source for rows [r0, r0 + n); for batches larger than one tile it decodes
// the rows once into scratch and returns them as f32 (identical values).
template <class Fn>
HWY_INLINE void WithSource(const LinearProblem& p, int64_t r0, int n, bool stage, FloatScratch& s, const Fn& fn) {
  const MatrixView& W = p.W;
  const int64_t K = W.cols;
  auto staged = [&](const auto& src) {
    if (!stage) return fn(src);
    const DF d;
    const int64_t N = static_cast<int64_t>(hn::Lanes(d));
    float* out = s.decoded.data();
    for (int i = 0; i < n; ++i) {
      int64_t c = 0;
      for (; c + N <= K; c += N) hn::StoreU(src.Load(d, i, c), d, out + i * K + c);
      for (; c < K; ++c) out[i * K + c] = src.Scalar(i, c);
    }
    return fn(SrcF32{out, K});
  };
  switch (W.dtype) {
    case DType::F32:
      return fn(SrcF32{static_cast<const float*>(W.row_data(r0)), K});
    case DType::F16:
      return staged(SrcF16{static_cast<const uint16_t*>(W.row_data(r0)), K});
    case DType::BF16:
      return staged(SrcBF16{static_cast<const uint16_t*>(W.row_data(r0)), K});
    case DType::Q8_0:
      WidenScales(W, r0, n, s.scales.data());
      return staged(SrcQ8{static_cast<const int8_t*>(W.row_data(r0)), K, s.scales.data()});
    case DType::Q4_0:
      WidenScales(W, r0, n, s.scales.data());
      return staged(SrcQ4{static_cast<const uint8_t*>(W.row_data(r0)), K, s.scales.data()});
    case DType::I32:
      break;
  }
}

void LinearFloat(const LinearProblem& p) {
  const int64_t rows = p.W.rows, K = p.W.cols;
  const int RB = p.M == 1 ? kRowsDecode : kRowsBatch;
  const int64_t nblocks = (rows + RB - 1) / RB;
  const bool stage = p.M > kInputsBatch && p.W.dtype != DType::F32;
  const int64_t chunk = InputChunk(K, 4, p.M);
  MaybeParallel(WorthThreads(p), [&](int64_t t, int64_t nt) {
    FloatScratch s;
    if (dtype_is_quantized(p.W.dtype)) s.scales.resize(RB * (K / kBlock));
    if (stage) s.decoded.resize(RB * K);
    for (int64_t m0 = 0; m0 < p.M; m0 += chunk) {
      const int64_t mc = std::min(chunk, p.M - m0);
      for (int64_t b = nblocks * t / nt; b < nblocks * (t + 1) / nt; ++b) {
        const int64_t r0 = b * RB;
        if (r0 + RB <= rows) {
          WithSource(p, r0, RB, stage, s, [&](const auto& src) {
            if (RB == kRowsDecode)
              FloatRows<kRowsDecode>(src, p, r0, m0, mc);
            else
              FloatRows<kRowsBatch>(src, p, r0, m0, mc);
          });
        } else {
          for (int64_t r = r0; r < rows; ++r)
            WithSource(p, r, 1, stage, s, [&](const auto& src) { FloatRows<1>(src, p, r, m0, mc); });
        }
      }
    }
  });
}

// ------------------------------------------------------------------- int8 path
// int16 lanes, at most one 32-weight block per vector.
using DW = hn::CappedTag<int16_t, 32>;
using VW = hn::Vec<DW>;
using DS = hn::Repartition<int32_t, DW>;  // the pairwise sums
using DSF = hn::Rebind<float, DS>;
using VS = hn::Vec<DS>;
using VSF = hn::Vec<DSF>;

// Load(dw, i, c): weights [c, c + L) of tile row i widened to int16 (L = Lanes(dw)).
struct SrcQ8W {
  const int8_t* q;
  int64_t K;
  HWY_INLINE VW Load(DW dw, int i, int64_t c) const {
    return hn::PromoteTo(dw, hn::LoadU(hn::Rebind<int8_t, DW>(), q + i * K + c));
  }
};

struct SrcQ4W {
  const uint8_t* q;
  int64_t K;
  template <class D>  // a template, so the branch a target does not take is never instantiated
  HWY_INLINE VW Load(D dw, int i, int64_t c) const {
    const uint8_t* blk = q + i * (K / 2) + (c / kBlock) * (kBlock / 2);
    const VW eight = hn::Set(dw, int16_t{8});
    const hn::Rebind<uint8_t, D> d8;
#if HWY_TARGET != HWY_SCALAR  // (no Combine there)
#if HWY_HAVE_SCALABLE
    if (hn::Lanes(dw) == 32) {  // SVE of 512 bits or more (the tag caps at 32 lanes)
#else
    if constexpr (hn::MaxLanes(D()) == 32) {
#endif
      // One vector is the whole block: low nibbles are weights 0..15, high 16..31.
      // Widen the 16 bytes first: nibbles of 16-bit lanes need no byte-shift emulation.
      const hn::RebindToUnsigned<D> du;
      const hn::Half<decltype(du)> duh;
      const auto bytes = hn::PromoteTo(duh, hn::LoadU(hn::Rebind<uint8_t, decltype(duh)>(), blk));
      const auto lo = hn::And(bytes, hn::Set(duh, uint16_t{0x0F}));
      const auto hi = hn::ShiftRight<4>(bytes);
      return hn::Sub(hn::BitCast(dw, hn::Combine(du, hi, lo)), eight);
    }
#endif
    {
      const int64_t pos = c % kBlock;
      const auto bytes = hn::LoadU(d8, blk + (pos & 15));
      const auto nib = pos < 16 ? hn::And(bytes, hn::Set(d8, uint8_t{0x0F})) : hn::ShiftRight<4>(bytes);
      return hn::Sub(hn::PromoteTo(dw, nib), eight);
    }
  }
};

// R rows x MT inputs; xq points at the tile's first input (ld K), cs at the combined
// scales cs[(i * MT + m) * nb + b] = weight scale * activation scale.
#if !HWY_HAVE_SCALABLE
template <int R, int MT, class Src>
HWY_NOINLINE void Int8Tile(const Src& src, int64_t K, const int16_t* HWY_RESTRICT xq, const float* HWY_RESTRICT cs,
                           const float* HWY_RESTRICT bias, float* HWY_RESTRICT y, int64_t ldy) {
  const DW dw;
  const DS ds;
  const DSF df;
  const int64_t L = static_cast<int64_t>(hn::Lanes(dw));
  const int64_t chunks = kBlock / L;
  const int64_t nb = K / kBlock;
  VSF acc[R][MT];
  for (int i = 0; i < R; ++i)
    for (int m = 0; m < MT; ++m) acc[i][m] = hn::Zero(df);
  for (int64_t b = 0; b < nb; ++b) {
    VS sum0[R][MT], sum1[R][MT];
    for (int i = 0; i < R; ++i)
      for (int m = 0; m < MT; ++m) sum0[i][m] = sum1[i][m] = hn::Zero(ds);
    for (int64_t j = 0; j < chunks; ++j) {
      const int64_t c = b * kBlock + j * L;
      VW w[R];
      for (int i = 0; i < R; ++i) w[i] = src.Load(dw, i, c);
      for (int m = 0; m < MT; ++m) {
        const VW xv = hn::LoadU(dw, xq + m * K + c);
        for (int i = 0; i < R; ++i) sum0[i][m] = hn::ReorderWidenMulAccumulate(ds, w[i], xv, sum0[i][m], sum1[i][m]);
      }
    }
    for (int i = 0; i < R; ++i)
      for (int m = 0; m < MT; ++m) {
        const VSF dot = hn::ConvertTo(df, hn::RearrangeToOddPlusEven(sum0[i][m], sum1[i][m]));
        acc[i][m] = hn::MulAdd(dot, hn::Set(df, cs[(i * MT + m) * nb + b]), acc[i][m]);
      }
  }
  for (int i = 0; i < R; ++i)
    for (int m = 0; m < MT; ++m)
      y[m * ldy + i] = hn::GetLane(hn::SumOfLanes(df, acc[i][m])) + (bias ? bias[i] : 0.f);
}
#else   // HWY_HAVE_SCALABLE: the same tile, one named variable per vector.
template <int R, int MT, class Src>
HWY_NOINLINE void Int8Tile(const Src& src, int64_t K, const int16_t* HWY_RESTRICT xq, const float* HWY_RESTRICT cs,
                           const float* HWY_RESTRICT bias, float* HWY_RESTRICT y, int64_t ldy) {
  static_assert(R >= 1 && R <= 8 && MT >= 1 && MT <= 4, "named accumulators: at most 8 rows x 4 inputs");
  const DW dw;
  const DS ds;
  const DSF df;
  const int64_t L = static_cast<int64_t>(hn::Lanes(dw));
  const int64_t chunks = kBlock / L;
  const int64_t nb = K / kBlock;
#define HMOE_ZERO(i, m) VSF acc##i##m = hn::Zero(df);
  HMOE_TILE_OF(HMOE_ZERO)
#undef HMOE_ZERO
  for (int64_t b = 0; b < nb; ++b) {
    // The block's integer dot of (i, m) in two halves, lo##i##m and hi##i##m.
#define HMOE_ZERO(i, m) VS lo##i##m = hn::Zero(ds), hi##i##m = hn::Zero(ds);
    HMOE_TILE_OF(HMOE_ZERO)
#undef HMOE_ZERO
    for (int64_t j = 0; j < chunks; ++j) {
      const int64_t c = b * kBlock + j * L;
#define HMOE_W(i) const VW w##i = RowVec<i, R>(src, dw, c);
      HMOE_EACH_ROW(HMOE_W)
#undef HMOE_W
#define HMOE_DOT(i, m) \
  if constexpr (i < R) lo##i##m = hn::ReorderWidenMulAccumulate(ds, w##i, xv, lo##i##m, hi##i##m);
#define HMOE_X(m)                                 \
  if constexpr (m < MT) {                         \
    const VW xv = hn::LoadU(dw, xq + m * K + c);  \
    HMOE_ROWS_OF(HMOE_DOT, m)                     \
  }
      HMOE_EACH_INPUT(HMOE_X)
#undef HMOE_X
#undef HMOE_DOT
    }
#define HMOE_SCALE(i, m)                                                                  \
  if constexpr (i < R && m < MT) {                                                        \
    const VSF dot = hn::ConvertTo(df, hn::RearrangeToOddPlusEven(lo##i##m, hi##i##m));   \
    acc##i##m = hn::MulAdd(dot, hn::Set(df, cs[(i * MT + m) * nb + b]), acc##i##m);       \
  }
    HMOE_TILE_OF(HMOE_SCALE)
#undef HMOE_SCALE
  }
#define HMOE_Y(i, m)                 \
  if constexpr (i < R && m < MT)     \
    y[m * ldy + i] = hn::GetLane(hn::SumOfLanes(df, acc##i##m)) + (bias ? bias[i] : 0.f);
  HMOE_TILE_OF(HMOE_Y)
#undef HMOE_Y
}
#undef HMOE_ROWS_OF
#undef HMOE_TILE_OF
#undef HMOE_EACH_ROW
#undef HMOE_EACH_INPUT
#endif  // HWY_HAVE_SCALABLE

template <int R, int MT, class Src>
HWY_INLINE void Int8TileScaled(const Src& src, const LinearProblem& p, const QuantizedActivations& xq,
                               const float* sw, float* cs, int64_t r0, int64_t m) {
  const int64_t K = p.W.cols, nb = K / kBlock;
  for (int i = 0; i < R; ++i)
    for (int mm = 0; mm < MT; ++mm) {
      const float* sx = xq.scale.data() + (m + mm) * nb;
      float* out = cs + (i * MT + mm) * nb;
      for (int64_t b = 0; b < nb; ++b) out[b] = sw[i * nb + b] * sx[b];
    }
  Int8Tile<R, MT>(src, K, xq.q.data() + m * K, cs, p.bias ? p.bias + r0 : nullptr, p.y + m * p.ldy + r0, p.ldy);
}

template <int R, class Src>
HWY_INLINE void Int8Rows(const Src& src, const LinearProblem& p, const QuantizedActivations& xq, const float* sw,
                         float* cs, int64_t r0, int64_t m0, int64_t mc) {
  int64_t m = m0;
  if constexpr (R != kRowsDecode) {  // decode-sized row blocks: one-input tiles (FloatRows)
    if (mc > 1) {
      for (; m + kInputsBatch <= m0 + mc; m += kInputsBatch) Int8TileScaled<R, kInputsBatch>(src, p, xq, sw, cs, r0, m);
      if (kInputsBatch > 2 && m + 2 <= m0 + mc) {  // a pair left over still shares its weight loads
        Int8TileScaled<R, 2>(src, p, xq, sw, cs, r0, m);
        m += 2;
      }
    }
  }
  for (; m < m0 + mc; ++m) Int8TileScaled<R, 1>(src, p, xq, sw, cs, r0, m);
}

void LinearInt8(const LinearProblem& p, const QuantizedActivations& xq) {
  const int64_t rows = p.W.rows, K = p.W.cols, nb = K / kBlock;
  const int RB = p.M == 1 ? kRowsDecode : kRowsBatch;
  const int64_t nblocks = (rows + RB - 1) / RB;
  const int64_t chunk = InputChunk(K, 2, p.M);
  const bool q4 = p.W.dtype == DType::Q4_0;
  MaybeParallel(WorthThreads(p), [&](int64_t t, int64_t nt) {
    std::vector<float> sw(RB * nb), cs(RB * kInputsBatch * nb);
    for (int64_t m0 = 0; m0 < p.M; m0 += chunk) {
      const int64_t mc = std::min(chunk, p.M - m0);
      for (int64_t b = nblocks * t / nt; b < nblocks * (t + 1) / nt; ++b) {
        const int64_t r0 = b * RB;
        const int n = static_cast<int>(std::min<int64_t>(RB, rows - r0));
        WidenScales(p.W, r0, n, sw.data());
        auto run = [&](const auto& src_at) {
          if (n == RB) {
            if (RB == kRowsDecode)
              Int8Rows<kRowsDecode>(src_at(r0), p, xq, sw.data(), cs.data(), r0, m0, mc);
            else
              Int8Rows<kRowsBatch>(src_at(r0), p, xq, sw.data(), cs.data(), r0, m0, mc);
          } else {
            for (int i = 0; i < n; ++i)
              Int8Rows<1>(src_at(r0 + i), p, xq, sw.data() + i * nb, cs.data(), r0 + i, m0, mc);
          }
        };
        if (q4)
          run([&](int64_t r) { return SrcQ4W{static_cast<const uint8_t*>(p.W.row_data(r)), K}; });
        else
          run([&](int64_t r) { return SrcQ8W{static_cast<const int8_t*>(p.W.row_data(r)), K}; });
      }
    }
  });
}

// ------------------------------------------------------------ decode to bf16
// Rows [r0, r0 + n) of W as bf16 (round to nearest even), n x K at `out`: the panels the
// oneDNN path multiplies for f16 / q8 / q4 weights. Threads split the rows.
void DecodeRowsBF16(const MatrixView& W, int64_t r0, int64_t n, uint16_t* out) {
  const int64_t K = W.cols;
  LinearProblem p;
  p.W = W;
  // Tasks of kRowsPerTask rows on the kernels' pool, each with its own scratch.
  constexpr int64_t kRowsPerTask = 16;
  const int threads = n * K >= (1 << 16) ? pool_threads() : 1;
  parallel_for((n + kRowsPerTask - 1) / kRowsPerTask, threads, [&](int64_t task, int) {
    FloatScratch s;
    if (dtype_is_quantized(W.dtype)) s.scales.resize(K / kBlock);
    for (int64_t i = task * kRowsPerTask; i < std::min(n, (task + 1) * kRowsPerTask); ++i) {
      WithSource(p, r0 + i, 1, false, s, [&](const auto& src) {
        const DF d;
        const hn::RebindToUnsigned<DF> du;
        const hn::RebindToSigned<DF> di;
        const hn::Rebind<uint16_t, DF> d16;
        const int64_t N = static_cast<int64_t>(hn::Lanes(d));
        uint16_t* o = out + i * K;
        int64_t c = 0;
        for (; c + N <= K; c += N) {
          const auto v = src.Load(d, 0, c);
          const auto u = hn::BitCast(du, v);
          const auto lsb = hn::And(hn::ShiftRight<16>(u), hn::Set(du, 1u));
          const auto rounded = hn::ShiftRight<16>(hn::Add(u, hn::Add(hn::Set(du, 0x7FFFu), lsb)));
          // Rounding would carry a NaN whose payload lies in the low half into infinity
          // (an f16 NaN widened without quieting, e.g.): truncate and quieten it instead,
          // as quant::f32_to_bf16 does.
          const auto nan = hn::Or(hn::ShiftRight<16>(u), hn::Set(du, 0x40u));
          const auto h = hn::IfThenElse(hn::RebindMask(du, hn::IsNaN(v)), nan, rounded);
          hn::StoreU(hn::DemoteTo(d16, hn::BitCast(di, h)), d16, o + c);
        }
        for (; c < K; ++c) o[c] = quant::f32_to_bf16(src.Scalar(0, c));
      });
    }
  });
}

int64_t TargetBit() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace kernels
}  // namespace hmoe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hmoe {
namespace kernels {

HWY_EXPORT(LinearFloat);
HWY_EXPORT(LinearInt8);
HWY_EXPORT(TargetBit);
HWY_EXPORT(DecodeRowsBF16);

void simd_decode_rows_bf16(const MatrixView& W, int64_t r0, int64_t n, uint16_t* out) {
  HWY_DYNAMIC_DISPATCH(DecodeRowsBF16)(W, r0, n, out);
}

void simd_linear_float(const LinearProblem& p) { HWY_DYNAMIC_DISPATCH(LinearFloat)(p); }

void simd_linear_int8(const LinearProblem& p, const QuantizedActivations& xq) {
  HWY_DYNAMIC_DISPATCH(LinearInt8)(p, xq);
}

std::vector<int64_t> simd_compiled_target_bits() {
  std::vector<int64_t> bits;
  for (int64_t t = HWY_TARGETS; t != 0; t &= t - 1) bits.push_back(t & ~(t - 1));
  return bits;  // lowest bit first: the best target first
}

int64_t simd_dispatched_target_bit() { return HWY_DYNAMIC_DISPATCH(TargetBit)(); }

}  // namespace kernels
}  // namespace hmoe
#endif  // HWY_ONCE
