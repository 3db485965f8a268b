// Matrix products of the model: y = x W^T + b with W stored [rows=out, cols=in] in any
// dtype of the file (f32, f16, bf16, q8_0, q4_0), x and y f32.
// This is the coarse entry point that dispatches to a SIMD target once per product.
#pragma once
#include <cstdint>

#include "formats/dtype.h"

namespace hmoe::kernels {

// A weight matrix as it lies in the file (or in a repacked buffer owned elsewhere).
// For block types the quants come first and the f16 scales follow (formats/hmoe.fbs).
struct MatrixView {
  DType dtype = DType::F32;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
  const void* data = nullptr;
  // Block types: where the rows*cols/32 f16 scales start; nullptr means right after the
  // quants (a lone matrix). slice() sets it, since a stacked tensor stores all of its
  // quants before all of its scales.
  const void* scales = nullptr;
  // True when `data` (and `scales`) stay valid and unchanged for as long as kernels may
  // use them, as weights mapped from a file do: the kernels may then keep derived copies
  // (oneDNN's prepacked weights) keyed by the address, until forget_cached_weights()
  // names that memory. Leave it false for buffers that are rewritten or freed.
  bool immutable = false;
  // The same weights repacked for the kernels (q8_0 / q4_0: packed_int8.h), or null.
  // Made once at load (pack_stacked); linear() uses it only after checking that it was
  // made from exactly this matrix, so a view cut from another one (other rows, other
  // data) falls back to the canonical bytes rather than to wrong numbers.
  const void* packed = nullptr;

  // The view of matrix `i` of a stacked [n, rows, cols] tensor whose first matrix is *this
  // (a view of the tensor's start, scales nullptr, or an earlier slice of the same tensor).
  MatrixView slice(int64_t i, int64_t n) const;
  // Bytes of this one matrix: quants (or values) plus scales.
  int64_t bytes() const;
  // Row r's quants (or values) and, for block types, its cols/32 f16 scales.
  const void* row_data(int64_t r) const;
  const uint16_t* row_scales(int64_t r) const;
};

// y[m, r] = sum_c x[m, c] * W[r, c] + (bias ? bias[r] : 0), for m < M.
// x is [M, ldx] with ldx >= cols, y is [M, ldy] with ldy >= rows (row-major).
// Threads: OpenMP over output rows within the caller's team size; every output is
// summed in the same order whatever the thread count, so results do not depend on it.
// Throws std::invalid_argument on inconsistent arguments.
void linear(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias,
            float* y, int64_t ldy);
inline void linear(const float* x, int64_t M, const MatrixView& W, const float* bias, float* y) {
  linear(x, M, W.cols, W, bias, y, W.rows);
}

// An element-wise function applied to a product's outputs after the bias (row_ops.h's
// gelu_new and relu, the same bits).
enum class Activation { None, GeluNew, Relu };

// The arguments of one linear() call, and the activation linear_set applies after it.
struct LinearArgs {
  const float* x = nullptr;
  int64_t M = 0, ldx = 0;
  MatrixView W;
  const float* bias = nullptr;
  float* y = nullptr;
  int64_t ldy = 0;
  Activation act = Activation::None;
};

// `act` over rows [0, M) of y, n values each, ldy apart. On the calling thread alone
// when `one_thread` (a pool task: the pool does not nest); otherwise the pool splits a
// large activation, all of y at once where its rows are contiguous.
void apply_activation(Activation act, float* y, int64_t M, int64_t ldy, int64_t n, bool one_thread);

// The n independent products of `set` (no output may overlap another's input or
// output), each with the bits linear() gives it alone, then its activation. Where every
// one takes the packed int8 path (q8_0 / q4_0 repacked at load), they run as one
// parallel job: a decode token's experts then hand work to the threads and wait for the
// last of them once, not once per product, and each task activates the rows it has just
// computed, while they are in its cache, rather than one thread all of them afterwards.
// Otherwise they run one after another.
void linear_set(const LinearArgs* set, int64_t n);

// Plain scalar reference of linear(), for tests: no SIMD, no threads.
void linear_reference(const float* x, int64_t M, int64_t ldx, const MatrixView& W,
                      const float* bias, float* y, int64_t ldy);

// Row r of W dequantised to f32 (cols values).
void dequantize_row(const MatrixView& W, int64_t r, float* out);

// Drops every copy the kernels derived from weights in [data, data + bytes) (see
// MatrixView::immutable). Call it before unmapping or reusing such memory.
void forget_cached_weights(const void* data, uint64_t bytes);

}  // namespace hmoe::kernels
