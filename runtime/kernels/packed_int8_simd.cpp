// Highway kernels of the packed path (packed_int8.h): q8_0 / q4_0 weights repacked into
// groups of 16 rows, one 32-bit lane per row, times inputs quantised to int8.
//
// Per group and block, the exact integer dot of each of the 16 rows with an input's 32
// codes lands in the row's lane; then acc = acc + float(dot) * (sw * sx). How the
// integer dot is computed depends on the target, never its value:
//  - AVX3_DL (AVX-512 VNNI): vpdpbusd, unsigned weight bytes (q8: w + 128; q4: the
//    nibbles w + 8) times signed codes, 4 products per lane per instruction; the offset
//    is taken back once per block: the accumulator starts at -128 (or -8) times the sum
//    of the block's codes, computed when the inputs were quantised.
//  - AVX3, AVX2, SSE4, SSSE3: pmaddubsw (u8 x s8 -> i16 pairs) then pmaddwd by ones.
//    pmaddubsw saturates its pair sums, so q8 takes the signs of the weights onto the
//    codes (|w| <= 128 times |code| <= 127, pairs <= 32512: exact); q4's nibbles are at
//    most 15 (pairs <= 3810, eight of them still fit an int16).
//  - SVE, SVE2: SDOT (signed x signed, 4 products per lane); NEON with the dot-product
//    extension (checked at run time): the same through vdotq_s32.
//  - other targets (NEON without it, ...): Highway ops only: bytes split into the even
//    and odd ones of each 16-bit lane, widened multiply-adds (ReorderWidenMulAccumulate).
//  - scalar: plain loops over the packed bytes.
// Vectors narrower than 16 lanes of 32 bits run a group as 2 or 4 parts of 8 or 4 rows.
#include <cstring>

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "quant/half.h"
#include "runtime/kernels/packed_int8_simd.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/kernels/packed_int8_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

// (Re-included once per target: the macros are redefined for each.)
#undef HMOE_PACKED_X86
#undef HMOE_PACKED_SDOT
#if HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || \
    HWY_TARGET == HWY_SSSE3
#include <immintrin.h>
#define HMOE_PACKED_X86 1
#else
#define HMOE_PACKED_X86 0
#endif

// Highway's AVX3_DL target string names only the 256-bit AVX-VNNI; vpdpbusd on 512 bits
// needs AVX512_VNNI, which every CPU Highway dispatches AVX3_DL to has (PackedGroups
// checks it again before using it). GCC adds it to the target pragma that
// HWY_BEFORE_NAMESPACE pushes (HWY_AFTER_NAMESPACE pops both); clang keeps one target
// attribute per function, so there the target string itself gains it for this pass
// (set_macros-inl.h defines it again for the next target).
#if HWY_TARGET == HWY_AVX3_DL && defined(__clang__)
#undef HWY_TARGET_STR
#define HWY_TARGET_STR                                            \
  HWY_TARGET_STR_AVX3                                             \
  ",vpclmulqdq,avx512vbmi,avx512vbmi2,vaes,avxvnni,avx512bitalg," \
  "avx512vpopcntdq,avx512vnni"
#endif
HWY_BEFORE_NAMESPACE();
#if HWY_TARGET == HWY_AVX3_DL && !defined(__clang__)
#pragma GCC target("avx512vnni")
#endif
namespace hmoe {
namespace kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int kRows = static_cast<int>(kPackedRows);

HWY_INLINE int32_t Load4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Writes a group's outputs: rows [r0, r0 + n) of input m, from acc[16].
HWY_INLINE void StoreRows(const PackedProblem& p, const float* acc, int64_t m, int64_t r0, int64_t n) {
  float* y = p.y + m * p.ldy + r0;
  if (p.bias) {
    const float* b = p.bias + r0;
    for (int64_t i = 0; i < n; ++i) y[i] = acc[i] + b[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = acc[i];
  }
}

// A group's starting sums for input m: rows [r0, r0 + n) from y where the problem
// carries the earlier panels' sums, else (and for padding rows) 0.
HWY_INLINE void InitRows(const PackedProblem& p, float* acc, int64_t m, int64_t r0, int64_t n) {
  int64_t i = 0;
  if (p.carry) {
    const float* y = p.y + m * p.ldy + r0;
    for (; i < n; ++i) acc[i] = y[i];
  }
  for (; i < kRows; ++i) acc[i] = 0.f;
}

#if HMOE_PACKED_X86
// ------------------------------------------------------------------ x86
#if HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX3
struct Isa {
  static constexpr int kBytes = 64;
  using VI = __m512i;
  using VF = __m512;
  static HWY_INLINE VI Load(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static HWY_INLINE VI Set(int32_t v) { return _mm512_set1_epi32(v); }
  static HWY_INLINE VI Add32(VI a, VI b) { return _mm512_add_epi32(a, b); }
  static HWY_INLINE VI Add16(VI a, VI b) { return _mm512_add_epi16(a, b); }
  static HWY_INLINE VI MaddUbs(VI u, VI s) { return _mm512_maddubs_epi16(u, s); }
  static HWY_INLINE VI MaddOnes(VI a) { return _mm512_madd_epi16(a, _mm512_set1_epi16(1)); }
  static HWY_INLINE VI Abs8(VI a) { return _mm512_abs_epi8(a); }
  // s with the sign of w applied (negated where w < 0).
  static HWY_INLINE VI SignOf(VI s, VI w) {
    return _mm512_mask_sub_epi8(s, _mm512_movepi8_mask(w), _mm512_setzero_si512(), s);
  }
  static HWY_INLINE VI Flip(VI a) { return _mm512_xor_si512(a, _mm512_set1_epi8(static_cast<char>(0x80))); }
  static HWY_INLINE VI NibLo(VI a) { return _mm512_and_si512(a, _mm512_set1_epi8(0x0F)); }
  static HWY_INLINE VI NibHi(VI a) { return _mm512_and_si512(_mm512_srli_epi16(a, 4), _mm512_set1_epi8(0x0F)); }
  // The zero-masked conversions with every lane kept: GCC 12 warns, at -O2 and with
  // -Wall, that the plain ones pass an undefined vector (-Wmaybe-uninitialized, a false
  // positive inside avx512fintrin.h); these compile to the same instructions.
  static HWY_INLINE VF Scales(const uint16_t* s) {
    return _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xFFFF),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)));
  }
  static HWY_INLINE VF SetF(float v) { return _mm512_set1_ps(v); }
  static HWY_INLINE VF MulF(VF a, VF b) { return _mm512_mul_ps(a, b); }
  static HWY_INLINE VF AddF(VF a, VF b) { return _mm512_add_ps(a, b); }
  static HWY_INLINE VF ToF(VI a) { return _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xFFFF), a); }
  static HWY_INLINE void StoreF(float* p, VF v) { _mm512_storeu_ps(p, v); }
  static HWY_INLINE VF LoadF(const float* p) { return _mm512_loadu_ps(p); }
};
#elif HWY_TARGET == HWY_AVX2
struct Isa {
  static constexpr int kBytes = 32;
  using VI = __m256i;
  using VF = __m256;
  static HWY_INLINE VI Load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static HWY_INLINE VI Set(int32_t v) { return _mm256_set1_epi32(v); }
  static HWY_INLINE VI Add32(VI a, VI b) { return _mm256_add_epi32(a, b); }
  static HWY_INLINE VI Add16(VI a, VI b) { return _mm256_add_epi16(a, b); }
  static HWY_INLINE VI MaddUbs(VI u, VI s) { return _mm256_maddubs_epi16(u, s); }
  static HWY_INLINE VI MaddOnes(VI a) { return _mm256_madd_epi16(a, _mm256_set1_epi16(1)); }
  static HWY_INLINE VI Abs8(VI a) { return _mm256_abs_epi8(a); }
  static HWY_INLINE VI SignOf(VI s, VI w) { return _mm256_sign_epi8(s, w); }
  static HWY_INLINE VI Flip(VI a) { return _mm256_xor_si256(a, _mm256_set1_epi8(static_cast<char>(0x80))); }
  static HWY_INLINE VI NibLo(VI a) { return _mm256_and_si256(a, _mm256_set1_epi8(0x0F)); }
  static HWY_INLINE VI NibHi(VI a) { return _mm256_and_si256(_mm256_srli_epi16(a, 4), _mm256_set1_epi8(0x0F)); }
  static HWY_INLINE VF Scales(const uint16_t* s) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
  }
  static HWY_INLINE VF SetF(float v) { return _mm256_set1_ps(v); }
  static HWY_INLINE VF MulF(VF a, VF b) { return _mm256_mul_ps(a, b); }
  static HWY_INLINE VF AddF(VF a, VF b) { return _mm256_add_ps(a, b); }
  static HWY_INLINE VF ToF(VI a) { return _mm256_cvtepi32_ps(a); }
  static HWY_INLINE void StoreF(float* p, VF v) { _mm256_storeu_ps(p, v); }
  static HWY_INLINE VF LoadF(const float* p) { return _mm256_loadu_ps(p); }
};
#else  // SSE4, SSSE3
struct Isa {
  static constexpr int kBytes = 16;
  using VI = __m128i;
  using VF = __m128;
  static HWY_INLINE VI Load(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static HWY_INLINE VI Set(int32_t v) { return _mm_set1_epi32(v); }
  static HWY_INLINE VI Add32(VI a, VI b) { return _mm_add_epi32(a, b); }
  static HWY_INLINE VI Add16(VI a, VI b) { return _mm_add_epi16(a, b); }
  static HWY_INLINE VI MaddUbs(VI u, VI s) { return _mm_maddubs_epi16(u, s); }
  static HWY_INLINE VI MaddOnes(VI a) { return _mm_madd_epi16(a, _mm_set1_epi16(1)); }
  static HWY_INLINE VI Abs8(VI a) { return _mm_abs_epi8(a); }
  static HWY_INLINE VI SignOf(VI s, VI w) { return _mm_sign_epi8(s, w); }
  static HWY_INLINE VI Flip(VI a) { return _mm_xor_si128(a, _mm_set1_epi8(static_cast<char>(0x80))); }
  static HWY_INLINE VI NibLo(VI a) { return _mm_and_si128(a, _mm_set1_epi8(0x0F)); }
  static HWY_INLINE VI NibHi(VI a) { return _mm_and_si128(_mm_srli_epi16(a, 4), _mm_set1_epi8(0x0F)); }
  // No f16 conversion instruction on these targets: the scalar one, exact.
  static HWY_INLINE VF Scales(const uint16_t* s) {
    return _mm_setr_ps(quant::f16_to_f32(s[0]), quant::f16_to_f32(s[1]), quant::f16_to_f32(s[2]),
                       quant::f16_to_f32(s[3]));
  }
  static HWY_INLINE VF SetF(float v) { return _mm_set1_ps(v); }
  static HWY_INLINE VF MulF(VF a, VF b) { return _mm_mul_ps(a, b); }
  static HWY_INLINE VF AddF(VF a, VF b) { return _mm_add_ps(a, b); }
  static HWY_INLINE VF ToF(VI a) { return _mm_cvtepi32_ps(a); }
  static HWY_INLINE void StoreF(float* p, VF v) { _mm_storeu_ps(p, v); }
  static HWY_INLINE VF LoadF(const float* p) { return _mm_loadu_ps(p); }
};
#endif

using VI = Isa::VI;
using VF = Isa::VF;
constexpr int kLanes = Isa::kBytes / 4;  // rows per part
constexpr int kParts = kRows / kLanes;

// MT inputs (pointers to their codes, scales, sums at the group's first block) times
// one part of a group (its first block's quants gq and scales gs, the next block's
// `step` bytes further): out[m] gets rows [part * kLanes, +kLanes) of input m, their
// sums started from init[m] (InitRows).
// kVnni: Dot::Apply(acc, u8, s8) is vpdpbusd.
template <bool kQ4, bool kVnni, class Dot, int MT>
HWY_INLINE void PartTile(const uint8_t* HWY_RESTRICT gq, const uint16_t* HWY_RESTRICT gs, int64_t nb, int64_t step,
                         int part, const int8_t* const* xq, const float* const* xs, const int32_t* const* xsum,
                         const float* HWY_RESTRICT init, float* HWY_RESTRICT out) {
  const int64_t scale_step = step / 2;
  VF acc[MT];
  for (int m = 0; m < MT; ++m) acc[m] = Isa::LoadF(init + m * kRows + part * kLanes);
  const uint8_t* q = gq + part * Isa::kBytes;
  for (int64_t b = 0; b < nb; ++b, q += step) {
    VI d[MT];
    if constexpr (kVnni && MT == 1) {
      // One input: four independent chains of vpdpbusd (its latency, not the memory,
      // would bound a single chain), summed exactly at the end of the block.
      const int8_t* xb = xq[0] + b * 32;
      VI c0 = Isa::Set(kQ4 ? -8 * xsum[0][b] : -128 * xsum[0][b]), c1 = Isa::Set(0), c2 = Isa::Set(0),
         c3 = Isa::Set(0);
      if constexpr (!kQ4) {
        c0 = Dot::Apply(c0, Isa::Load(q), Isa::Set(Load4(xb)));
        c1 = Dot::Apply(c1, Isa::Load(q + 64), Isa::Set(Load4(xb + 4)));
        c2 = Dot::Apply(c2, Isa::Load(q + 128), Isa::Set(Load4(xb + 8)));
        c3 = Dot::Apply(c3, Isa::Load(q + 192), Isa::Set(Load4(xb + 12)));
        c0 = Dot::Apply(c0, Isa::Load(q + 256), Isa::Set(Load4(xb + 16)));
        c1 = Dot::Apply(c1, Isa::Load(q + 320), Isa::Set(Load4(xb + 20)));
        c2 = Dot::Apply(c2, Isa::Load(q + 384), Isa::Set(Load4(xb + 24)));
        c3 = Dot::Apply(c3, Isa::Load(q + 448), Isa::Set(Load4(xb + 28)));
      } else {
        const VI r0 = Isa::Load(q), r1 = Isa::Load(q + 64), r2 = Isa::Load(q + 128), r3 = Isa::Load(q + 192);
        c0 = Dot::Apply(c0, Isa::NibLo(r0), Isa::Set(Load4(xb)));
        c1 = Dot::Apply(c1, Isa::NibLo(r1), Isa::Set(Load4(xb + 4)));
        c2 = Dot::Apply(c2, Isa::NibLo(r2), Isa::Set(Load4(xb + 8)));
        c3 = Dot::Apply(c3, Isa::NibLo(r3), Isa::Set(Load4(xb + 12)));
        c0 = Dot::Apply(c0, Isa::NibHi(r0), Isa::Set(Load4(xb + 16)));
        c1 = Dot::Apply(c1, Isa::NibHi(r1), Isa::Set(Load4(xb + 20)));
        c2 = Dot::Apply(c2, Isa::NibHi(r2), Isa::Set(Load4(xb + 24)));
        c3 = Dot::Apply(c3, Isa::NibHi(r3), Isa::Set(Load4(xb + 28)));
      }
      d[0] = Isa::Add32(Isa::Add32(c0, c1), Isa::Add32(c2, c3));
    } else if constexpr (!kQ4) {
      for (int m = 0; m < MT; ++m) d[m] = kVnni ? Isa::Set(-128 * xsum[m][b]) : Isa::Set(0);
      for (int v = 0; v < 8; ++v) {
        const VI w = Isa::Load(q + v * 64);
        if constexpr (kVnni) {
          for (int m = 0; m < MT; ++m) d[m] = Dot::Apply(d[m], w, Isa::Set(Load4(xq[m] + b * 32 + v * 4)));
        } else {
          const VI ws = Isa::Flip(w);  // the signed weights
          const VI wa = Isa::Abs8(ws);
          for (int m = 0; m < MT; ++m) {
            const VI t = Isa::MaddUbs(wa, Isa::SignOf(Isa::Set(Load4(xq[m] + b * 32 + v * 4)), ws));
            d[m] = Isa::Add32(d[m], Isa::MaddOnes(t));
          }
        }
      }
    } else {
      for (int m = 0; m < MT; ++m) d[m] = Isa::Set(-8 * xsum[m][b]);
      VI t[MT];
      for (int v = 0; v < 4; ++v) {
        const VI raw = Isa::Load(q + v * 64);
        const VI lo = Isa::NibLo(raw), hi = Isa::NibHi(raw);
        for (int m = 0; m < MT; ++m) {
          const VI xl = Isa::Set(Load4(xq[m] + b * 32 + v * 4));
          const VI xh = Isa::Set(Load4(xq[m] + b * 32 + 16 + v * 4));
          if constexpr (kVnni) {
            d[m] = Dot::Apply(Dot::Apply(d[m], lo, xl), hi, xh);
          } else {
            // Nibbles <= 15 times |code| <= 127: pairs <= 3810, eight sums <= 30480.
            const VI s2 = Isa::Add16(Isa::MaddUbs(lo, xl), Isa::MaddUbs(hi, xh));
            t[m] = v == 0 ? s2 : Isa::Add16(t[m], s2);
          }
        }
      }
      if constexpr (!kVnni)
        for (int m = 0; m < MT; ++m) d[m] = Isa::Add32(d[m], Isa::MaddOnes(t[m]));
    }
    const VF sw = Isa::Scales(gs + b * scale_step + part * kLanes);
    for (int m = 0; m < MT; ++m)
      acc[m] = Isa::AddF(acc[m], Isa::MulF(Isa::ToF(d[m]), Isa::MulF(sw, Isa::SetF(xs[m][b]))));
  }
  for (int m = 0; m < MT; ++m) Isa::StoreF(out + m * kRows + part * kLanes, acc[m]);
}

struct NoDot {
  static HWY_INLINE VI Apply(VI a, VI, VI) { return a; }
};
#if HWY_TARGET == HWY_AVX3_DL
struct Dpbusd {
  static HWY_INLINE VI Apply(VI acc, VI u, VI s) { return _mm512_dpbusd_epi32(acc, u, s); }
};
#endif

#if HWY_TARGET == HWY_AVX3_DL
// Decode (one input) on the two groups of a pair at once with vpdpbusd, for S pairs
// side by side (S = 2: two streams, from two ranges far apart; see run_panels in
// packed_int8_job.cpp): a pair's blocks lie one after another (both groups' quants,
// then both groups' scales), so each pair is one stream read front to back, and every
// pair gets the same operations in the same order whatever S is (the same bits). Each
// group has two independent vpdpbusd chains (its latency would otherwise bound a single
// chain). q4: the high nibbles are taken in place, masked but not shifted (16 times
// their value), into a chain of their own, which is divided by 16 (exactly: every term
// is a multiple of 16) once per block.
//
// Within a block, the loads go in address order: the first group's lines, then the
// second's. Alternating between the two groups line by line (each input broadcast then
// serves both) streamed q8_0 10-16% slower from memory on a Zen 5, whose prefetchers
// follow ascending runs of lines; in that order q8_0 also needs no software prefetch
// (bench/kernels/README.md).
template <bool kQ4, int S>
HWY_INLINE void DecodePairsVnni(const uint8_t* const* HWY_RESTRICT pairs, int64_t nb, const int8_t* HWY_RESTRICT x,
                                const float* HWY_RESTRICT xs, const int32_t* HWY_RESTRICT xsum,
                                const float* HWY_RESTRICT init, float* HWY_RESTRICT out) {
  constexpr int64_t kBlockBytes = packed_block_quant_bytes(kQ4);
  constexpr int64_t kStep = packed_block_step(kQ4);
  VF acc_a[S], acc_b[S];
  for (int s = 0; s < S; ++s) {
    acc_a[s] = Isa::LoadF(init + 2 * s * kRows);
    acc_b[s] = Isa::LoadF(init + (2 * s + 1) * kRows);
  }
  const VI lo_mask = _mm512_set1_epi8(0x0F), hi_mask = _mm512_set1_epi8(static_cast<char>(0xF0));
  // One group's block into two chains, c0 (low codes) and c1.
  const auto group_block = [&](const uint8_t* HWY_RESTRICT g, const int8_t* HWY_RESTRICT xb, VI& c0, VI& c1) {
    if constexpr (!kQ4) {
      for (int v = 0; v < 8; v += 2) {
        c0 = _mm512_dpbusd_epi32(c0, Isa::Load(g + v * 64), Isa::Set(Load4(xb + v * 4)));
        c1 = _mm512_dpbusd_epi32(c1, Isa::Load(g + v * 64 + 64), Isa::Set(Load4(xb + v * 4 + 4)));
      }
    } else {
      for (int v = 0; v < 4; ++v) {
        const VI r = Isa::Load(g + v * 64);
        c0 = _mm512_dpbusd_epi32(c0, _mm512_and_si512(r, lo_mask), Isa::Set(Load4(xb + v * 4)));
        c1 = _mm512_dpbusd_epi32(c1, _mm512_and_si512(r, hi_mask), Isa::Set(Load4(xb + 16 + v * 4)));
      }
      // Zero-masked with every lane kept: the plain shift trips GCC 12's false
      // -Wmaybe-uninitialized (see Isa::Scales); the same instruction.
      c1 = _mm512_maskz_srai_epi32(static_cast<__mmask16>(0xFFFF), c1, 4);
    }
  };
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* xb = x + b * 32;
    const VI off = Isa::Set((kQ4 ? -8 : -128) * xsum[b]);
    const VF sx = Isa::SetF(xs[b]);
    for (int s = 0; s < S; ++s) {
      const uint8_t* q = pairs[s] + b * kStep;
      const uint16_t* sc = reinterpret_cast<const uint16_t*>(q + 2 * kBlockBytes);
      VI a0 = Isa::Set(0), a1 = Isa::Set(0), b0 = Isa::Set(0), b1 = Isa::Set(0);
      group_block(q, xb, a0, a1);
      group_block(q + kBlockBytes, xb, b0, b1);
      const VI da = Isa::Add32(Isa::Add32(a0, a1), off), db = Isa::Add32(Isa::Add32(b0, b1), off);
      acc_a[s] = Isa::AddF(acc_a[s], Isa::MulF(Isa::ToF(da), Isa::MulF(Isa::Scales(sc), sx)));
      acc_b[s] = Isa::AddF(acc_b[s], Isa::MulF(Isa::ToF(db), Isa::MulF(Isa::Scales(sc + kRows), sx)));
    }
  }
  for (int s = 0; s < S; ++s) {
    Isa::StoreF(out + 2 * s * kRows, acc_a[s]);
    Isa::StoreF(out + (2 * s + 1) * kRows, acc_b[s]);
  }
}

// The S pairs whose first groups are g[0..S) (even), one input: their rows' starting
// sums, DecodePairsVnni, their outputs.
template <bool kQ4, int S>
HWY_INLINE void DecodePairsAt(const PackedProblem& p, const int64_t* g) {
  const Int8Activations& xa = *p.xa;
  HWY_ALIGN float init[2 * S * kRows];
  HWY_ALIGN float out[2 * S * kRows];
  const uint8_t* pairs[S];
  for (int s = 0; s < S; ++s) {
    pairs[s] = p.geo.quants(p.groups, g[s]);
    for (int k = 0; k < 2; ++k) {
      const int64_t r0 = (g[s] + k) * kRows;
      InitRows(p, init + (2 * s + k) * kRows, 0, r0, std::min<int64_t>(kRows, p.rows - r0));
    }
  }
  DecodePairsVnni<kQ4, S>(pairs, p.geo.nb, xa.q.data(), xa.scale.data(), xa.sum.data(), init, out);
  for (int s = 0; s < S; ++s)
    for (int k = 0; k < 2; ++k) {
      const int64_t r0 = (g[s] + k) * kRows;
      StoreRows(p, out + (2 * s + k) * kRows, 0, r0, std::min<int64_t>(kRows, p.rows - r0));
    }
}
#endif

template <bool kQ4, bool kVnni, class Dot>
HWY_NOINLINE void GroupsX86(const PackedProblem& p, int64_t g0, int64_t g1) {
  const PackedGeometry& g = p.geo;
  const Int8Activations& xa = *p.xa;
  const int64_t M = xa.M, nb = g.nb;
  constexpr int kMT = 4;
  HWY_ALIGN float init[kMT * kRows];
  HWY_ALIGN float out[kMT * kRows];
  // One group, every input, kMT inputs per pass over its bytes.
  auto one_group = [&](int64_t gi) {
    const uint8_t* gq = g.quants(p.groups, gi);
    const uint16_t* gs = g.scales(p.groups, gi);
    const int64_t r0 = gi * kRows, n = std::min<int64_t>(kRows, p.rows - r0);
    for (int64_t m = 0; m < M;) {
      const int mt = M - m >= kMT ? kMT : M - m >= 2 ? 2 : 1;
      const int8_t* xq[kMT];
      const float* xs[kMT];
      const int32_t* xsum[kMT];
      for (int i = 0; i < mt; ++i) {
        xq[i] = xa.q.data() + (m + i) * xa.ld;
        xs[i] = xa.scale.data() + (m + i) * nb;
        xsum[i] = xa.sum.data() + (m + i) * nb;
        InitRows(p, init + i * kRows, m + i, r0, n);
      }
      for (int part = 0; part < kParts; ++part) {
        if (mt == kMT)
          PartTile<kQ4, kVnni, Dot, kMT>(gq, gs, nb, g.block_step, part, xq, xs, xsum, init, out);
        else if (mt == 2)
          PartTile<kQ4, kVnni, Dot, 2>(gq, gs, nb, g.block_step, part, xq, xs, xsum, init, out);
        else
          PartTile<kQ4, kVnni, Dot, 1>(gq, gs, nb, g.block_step, part, xq, xs, xsum, init, out);
      }
      for (int i = 0; i < mt; ++i) StoreRows(p, out + i * kRows, m + i, r0, n);
      m += mt;
    }
  };
  int64_t gi = g0;
#if HWY_TARGET == HWY_AVX3_DL
  if (kVnni && M == 1) {
    if ((gi & 1) && gi < g1) one_group(gi++);  // the second group of a pair: alone
    for (; gi + 2 <= g1; gi += 2) DecodePairsAt<kQ4, 1>(p, &gi);
  }
#endif
  for (; gi < g1; ++gi) one_group(gi);
}

void PackedGroups(const PackedProblem& p, int64_t g0, int64_t g1) {
#if HWY_TARGET == HWY_AVX3_DL
  static const bool vnni = __builtin_cpu_supports("avx512vnni");
  if (vnni) return p.geo.q4 ? GroupsX86<true, true, Dpbusd>(p, g0, g1) : GroupsX86<false, true, Dpbusd>(p, g0, g1);
#endif
  if (p.geo.q4)
    GroupsX86<true, false, NoDot>(p, g0, g1);
  else
    GroupsX86<false, false, NoDot>(p, g0, g1);
}

#if HWY_TARGET == HWY_AVX3_DL
// Groups [a0, a1) and [b0, b1) (each starting on a pair) for one input: pair i of the
// first range beside pair i of the second, then whatever either has left alone.
template <bool kQ4>
HWY_NOINLINE void DecodeTwoRanges(const PackedProblem& p, int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  const int64_t n = std::min((a1 - a0) / 2, (b1 - b0) / 2);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t g[2] = {a0 + 2 * i, b0 + 2 * i};
    DecodePairsAt<kQ4, 2>(p, g);
  }
  GroupsX86<kQ4, true, Dpbusd>(p, a0 + 2 * n, a1);
  GroupsX86<kQ4, true, Dpbusd>(p, b0 + 2 * n, b1);
}
#endif

#elif HWY_TARGET == HWY_SCALAR
// ------------------------------------------------------------------ scalar
void PackedGroups(const PackedProblem& p, int64_t g0, int64_t g1) {
  const PackedGeometry& g = p.geo;
  const Int8Activations& xa = *p.xa;
  const int64_t nb = g.nb;
  float acc[kRows];
  for (int64_t gi = g0; gi < g1; ++gi) {
    const uint8_t* gq = g.quants(p.groups, gi);
    const uint16_t* gs = g.scales(p.groups, gi);
    const int64_t r0 = gi * kRows, n = std::min<int64_t>(kRows, p.rows - r0);
    for (int64_t m = 0; m < xa.M; ++m) {
      const int8_t* x = xa.q.data() + m * xa.ld;
      InitRows(p, acc, m, r0, n);
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* q = gq + b * g.block_step;
        for (int j = 0; j < kRows; ++j) {
          int32_t dot = 0;
          for (int v = 0; v < (g.q4 ? 4 : 8); ++v)
            for (int k = 0; k < 4; ++k) {
              const uint8_t byte = q[v * 64 + j * 4 + k];
              if (g.q4) {
                dot += ((byte & 0x0F) - 8) * x[b * 32 + v * 4 + k];
                dot += ((byte >> 4) - 8) * x[b * 32 + 16 + v * 4 + k];
              } else {
                dot += (static_cast<int32_t>(byte) - 128) * x[b * 32 + v * 4 + k];
              }
            }
          const float s = quant::f16_to_f32(gs[b * g.scale_step() + j]) * xa.scale[m * nb + b];
          acc[j] = acc[j] + static_cast<float>(dot) * s;
        }
      }
      StoreRows(p, acc, m, r0, n);
    }
  }
}

#else
// ------------------------------------------------------------------ generic
// Any other target. SVE and SVE2 have a 4-way int8 dot (SDOT) in their base set: signed
// weights (q8: the stored bytes XOR 0x80; q4: the nibbles, with the -8 taken back per
// block as on x86) times the codes. Elsewhere Highway ops only: 16-bit lanes hold two
// bytes of a row; the even and odd bytes are widened and multiplied separately by the
// matching codes (NEON CPUs with the dot-product extension take GroupsNeonDot below).
#if HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 || HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128
#define HMOE_PACKED_SDOT 1
#else
#define HMOE_PACKED_SDOT 0
#endif

void GroupsGeneric(const PackedProblem& p, int64_t g0, int64_t g1) {
  const hn::CappedTag<uint8_t, 64> d8;
  const hn::Repartition<uint16_t, decltype(d8)> du16;
  const hn::Repartition<int16_t, decltype(d8)> di16;
  const hn::Repartition<int32_t, decltype(d8)> di32;
  const hn::Repartition<float, decltype(d8)> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(di32));  // rows per part: 4, 8 or 16
  const int64_t bytes = lanes * 4;
  const int64_t parts = kRows / lanes;
  const PackedGeometry& g = p.geo;
  const Int8Activations& xa = *p.xa;
  const int64_t nb = g.nb;
  const int subvecs = g.q4 ? 4 : 8;
  HWY_ALIGN float init[kRows];
  HWY_ALIGN float out[kRows];
  for (int64_t gi = g0; gi < g1; ++gi) {
    const uint8_t* gq = g.quants(p.groups, gi);
    const uint16_t* gs = g.scales(p.groups, gi);
    const int64_t r0 = gi * kRows, n = std::min<int64_t>(kRows, p.rows - r0);
    for (int64_t m = 0; m < xa.M; ++m) {
      const int8_t* x = xa.q.data() + m * xa.ld;
      InitRows(p, init, m, r0, n);
      for (int64_t part = 0; part < parts; ++part) {
        auto acc = hn::LoadU(df, init + part * lanes);
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* q = gq + b * g.block_step + part * bytes;
          auto sum0 = hn::Zero(di32), sum1 = hn::Zero(di32);
#if HMOE_PACKED_SDOT
          auto madd = [&](decltype(hn::Zero(d8)) w8, int32_t x4) {
            sum0 = svdot_s32(sum0, svreinterpret_s8_u8(w8), svreinterpret_s8_s32(svdup_n_s32(x4)));
          };
          const auto flip = hn::Set(d8, uint8_t{0x80});
#else
          auto madd = [&](decltype(hn::Zero(d8)) w8, int32_t x4) {
            const auto w16 = hn::BitCast(du16, w8);
            const auto we = hn::BitCast(di16, hn::And(w16, hn::Set(du16, uint16_t{0xFF})));
            const auto wo = hn::BitCast(di16, hn::ShiftRight<8>(w16));
            const auto x16 = hn::BitCast(di16, hn::Set(di32, x4));
            const auto xe = hn::ShiftRight<8>(hn::ShiftLeft<8>(x16));
            const auto xo = hn::ShiftRight<8>(x16);
            sum0 = hn::ReorderWidenMulAccumulate(di32, we, xe, sum0, sum1);
            sum0 = hn::ReorderWidenMulAccumulate(di32, wo, xo, sum0, sum1);
          };
#endif
          for (int v = 0; v < subvecs; ++v) {
            const auto raw = hn::LoadU(d8, q + v * 64);
            if (g.q4) {
              madd(hn::And(raw, hn::Set(d8, uint8_t{0x0F})), Load4(x + b * 32 + v * 4));
              madd(hn::ShiftRight<4>(raw), Load4(x + b * 32 + 16 + v * 4));
            } else {
#if HMOE_PACKED_SDOT
              madd(hn::Xor(raw, flip), Load4(x + b * 32 + v * 4));
#else
              madd(raw, Load4(x + b * 32 + v * 4));
#endif
            }
          }
#if HMOE_PACKED_SDOT
          const int32_t offset = g.q4 ? -8 * xa.sum[m * nb + b] : 0;
          const auto dot = hn::Add(sum0, hn::Set(di32, offset));
          (void)sum1, (void)du16, (void)di16;
#else
          const int32_t offset = (g.q4 ? -8 : -128) * xa.sum[m * nb + b];
          const auto dot = hn::Add(hn::RearrangeToOddPlusEven(sum0, sum1), hn::Set(di32, offset));
#endif
          const auto sw = hn::PromoteTo(
              df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(gs + b * g.scale_step() + part * lanes)));
          acc = hn::Add(acc, hn::Mul(hn::ConvertTo(df, dot), hn::Mul(sw, hn::Set(df, xa.scale[m * nb + b]))));
        }
        hn::StoreU(acc, df, out + part * lanes);
      }
      StoreRows(p, out, m, r0, n);
    }
  }
}

#if HWY_TARGET == HWY_NEON && HWY_ARCH_ARM_A64 && defined(__linux__)
// NEON with the dot-product extension (Armv8.2 DotProd: Cortex-A55/A76 and later,
// Neoverse N1): SDOT on signed weights, as the SVE code. Compiled for it here and used
// only where the kernel reports it (HWCAP_ASIMDDP). Plain loops around the intrinsics:
// helpers compiled without the extension could not inline them.
__attribute__((target("arch=armv8.2-a+dotprod+crypto"))) HWY_NOINLINE void GroupsNeonDot(const PackedProblem& p, int64_t g0,
                                                                    int64_t g1) {
  const PackedGeometry& g = p.geo;
  const Int8Activations& xa = *p.xa;
  const int64_t nb = g.nb;
  const int subvecs = g.q4 ? 4 : 8;
  HWY_ALIGN float init[kRows];
  HWY_ALIGN float out[kRows];
  const uint8x16_t flip = vdupq_n_u8(0x80), low = vdupq_n_u8(0x0F);
  for (int64_t gi = g0; gi < g1; ++gi) {
    const uint8_t* gq = g.quants(p.groups, gi);
    const uint16_t* gs = g.scales(p.groups, gi);
    const int64_t r0 = gi * kRows, n = std::min<int64_t>(kRows, p.rows - r0);
    for (int64_t m = 0; m < xa.M; ++m) {
      const int8_t* x = xa.q.data() + m * xa.ld;
      InitRows(p, init, m, r0, n);
      for (int part = 0; part < 4; ++part) {
        float32x4_t acc = vld1q_f32(init + part * 4);
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* q = gq + b * g.block_step + part * 16;
          int32x4_t sum = vdupq_n_s32(g.q4 ? -8 * xa.sum[m * nb + b] : 0);
          for (int v = 0; v < subvecs; ++v) {
            const uint8x16_t raw = vld1q_u8(q + v * 64);
            const int8x16_t xl = vreinterpretq_s8_s32(vdupq_n_s32(Load4(x + b * 32 + v * 4)));
            if (g.q4) {
              const int8x16_t xh = vreinterpretq_s8_s32(vdupq_n_s32(Load4(x + b * 32 + 16 + v * 4)));
              sum = vdotq_s32(sum, vreinterpretq_s8_u8(vandq_u8(raw, low)), xl);
              sum = vdotq_s32(sum, vreinterpretq_s8_u8(vshrq_n_u8(raw, 4)), xh);
            } else {
              sum = vdotq_s32(sum, vreinterpretq_s8_u8(veorq_u8(raw, flip)), xl);
            }
          }
          const float16x4_t sh = vreinterpret_f16_u16(vld1_u16(gs + b * g.scale_step() + part * 4));
          const float32x4_t s = vmulq_f32(vcvt_f32_f16(sh), vdupq_n_f32(xa.scale[m * nb + b]));
          acc = vaddq_f32(acc, vmulq_f32(vcvtq_f32_s32(sum), s));
        }
        vst1q_f32(out + part * 4, acc);
      }
      StoreRows(p, out, m, r0, n);
    }
  }
}

bool HasNeonDot() {
  static const bool has = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  return has;
}
#endif

void PackedGroups(const PackedProblem& p, int64_t g0, int64_t g1) {
#if HWY_TARGET == HWY_NEON && HWY_ARCH_ARM_A64 && defined(__linux__)
  if (HasNeonDot()) return GroupsNeonDot(p, g0, g1);
#endif
  GroupsGeneric(p, g0, g1);
}
#endif

// ------------------------------------------------------------------ activations
// Blocks of 32 inputs to int8 codes: the vector code does what quantize_block_int8
// (packed_int8.cpp) does for finite blocks whose maximum is not tiny, and hands the
// others to it.
void QuantizeInt8(const float* x, int64_t M, int64_t ldx, int64_t cols, Int8Activations* out) {
  const hn::CappedTag<float, 32> d;
  const hn::Rebind<int32_t, decltype(d)> di;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t nb = cols / kQuantBlock;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + m * ldx + b * kQuantBlock;
      int8_t* q = out->q.data() + m * out->ld + b * kQuantBlock;
      float* scale = out->scale.data() + m * nb + b;
      int32_t* sum = out->sum.data() + m * nb + b;
      auto vmax = hn::Zero(d);
      auto finite = hn::FirstN(d, N);
      for (int64_t j = 0; j < kQuantBlock; j += N) {
        const auto v = hn::LoadU(d, xb + j);
        finite = hn::And(finite, hn::IsFinite(v));
        vmax = hn::Max(vmax, hn::Abs(v));
      }
      const float amax = hn::GetLane(hn::MaxOfLanes(d, vmax));
      // 127 / amax overflows below 127 / FLT_MAX: the scalar code's other formula.
      if (!hn::AllTrue(d, finite) || !(amax >= 4e-37f)) {
        quantize_int8_block_scalar(xb, q, scale, sum);
        continue;
      }
      *scale = amax / 127.f;
      const auto inv = hn::Set(d, 127.f / amax);
      auto s = hn::Zero(di);
      for (int64_t j = 0; j < kQuantBlock; j += N) {
        const auto c = hn::NearestInt(hn::Mul(hn::LoadU(d, xb + j), inv));
        s = hn::Add(s, c);
        hn::StoreU(hn::DemoteTo(d8, c), d8, q + j);
      }
      *sum = hn::GetLane(hn::SumOfLanes(di, s));
    }
}

// Only the AVX3_DL decode kernel reads two ranges side by side; elsewhere (not measured
// there) the two ranges run one after the other.
void PackedGroupsTwo(const PackedProblem& p, int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
#if HWY_TARGET == HWY_AVX3_DL
  static const bool vnni = __builtin_cpu_supports("avx512vnni");
  if (vnni && p.xa->M == 1 && a0 % 2 == 0 && b0 % 2 == 0)
    return p.geo.q4 ? DecodeTwoRanges<true>(p, a0, a1, b0, b1) : DecodeTwoRanges<false>(p, a0, a1, b0, b1);
#endif
  PackedGroups(p, a0, a1);
  PackedGroups(p, b0, b1);
}

}  // namespace HWY_NAMESPACE
}  // namespace kernels
}  // namespace hmoe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hmoe {
namespace kernels {

HWY_EXPORT(PackedGroups);
HWY_EXPORT(PackedGroupsTwo);
HWY_EXPORT(QuantizeInt8);

void simd_packed_groups(const PackedProblem& p, int64_t g0, int64_t g1) {
  HWY_DYNAMIC_DISPATCH(PackedGroups)(p, g0, g1);
}

void simd_packed_groups_two(const PackedProblem& p, int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  HWY_DYNAMIC_DISPATCH(PackedGroupsTwo)(p, a0, a1, b0, b1);
}

void simd_quantize_int8(const float* x, int64_t M, int64_t ldx, int64_t cols, Int8Activations* out) {
  HWY_DYNAMIC_DISPATCH(QuantizeInt8)(x, M, ldx, cols, out);
}

}  // namespace kernels
}  // namespace hmoe
#endif  // HWY_ONCE
