// The canonical encodings of the file's weight dtypes (formats/hmoe.fbs), scalar and
// exact: f32 -> f16 / bf16 (round to nearest even), f32 -> q8_0 / q4_0 (blocks of 32
// along a row, planar: every quant of the matrix first, then every f16 scale), and back.
// The SIMD kernels decode the same bytes; these functions define what the bytes mean.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "formats/dtype.h"

namespace hmoe::quant {

// Raised for weights a format cannot hold (NaN, Inf, a q8/q4 scale beyond f16), naming
// the row and column; the model quantizer adds the tensor's name.
class EncodeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// --- one block of 32 weights -------------------------------------------------------
// q8_0: scale = max|w| / 127 rounded to f16, q = round(w / scale) clamped to [-127, 127].
void quantize_block_q8(const float* w, int8_t* q, uint16_t* scale_f16);
// q4_0: packed[j] = (q[j] + 8) | (q[j + 16] + 8) << 4, q in [-8, 7], w ~ q * scale.
// The scale is the best, in squared error, of five least-squares fits: for each
// k in {8, 7.75, 7.5, 7.25, 7}, quantise with scale m / -k (m the weight of largest
// magnitude, so it lands on -k), refit scale = sum(w q) / sum(q q) for those q, round it
// to f16, requantise, and keep the one with the lowest error. On Gaussian weights this
// gives a relative RMS error of 0.0827 against 0.0859 for ggml's m / -8 (Student-t(3):
// 0.1240 against 0.1280), at about five times the encoding cost (still > 100 MB/s).
void quantize_block_q4(const float* w, uint8_t* packed, uint16_t* scale_f16);

// --- whole matrices ----------------------------------------------------------------
// `rows` x `cols` f32 (row-major) -> the file bytes of dtype `t` (storage_bytes(t,
// {rows, cols}) of them at `dst`). A stacked [N, out, in] tensor is rows = N * out.
// Block types need cols % 32 == 0. Throws EncodeError for non-finite weights (any
// non-f32 target) or scales f16 cannot hold, std::invalid_argument for bad sizes.
// Rows are encoded in parallel (OpenMP) unless `parallel` is false (callers that
// encode many small matrices on threads of their own); the bytes do not depend on it.
void encode_matrix(DType t, const float* src, int64_t rows, int64_t cols, void* dst, bool parallel = true);

// One row of `cols` weights as f32: `row` points at the row's values (f32/f16/bf16) or
// quants (q8/q4), `scales` at its cols/32 f16 scales (block types only).
void decode_row_parts(DType t, const void* row, const uint16_t* scales, int64_t cols, float* out);
// Row `r` of a `rows` x `cols` matrix stored as dtype `t` at `src`, as f32.
void decode_row(DType t, const void* src, int64_t rows, int64_t cols, int64_t r, float* out);
// The whole matrix.
void decode_matrix(DType t, const void* src, int64_t rows, int64_t cols, float* dst);

}  // namespace hmoe::quant
