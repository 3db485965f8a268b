// The ways linear() can compute a product, for tests and benchmarks that compare them,
// and the thresholds that pick one. linear() itself uses LinearPath::Auto.
#pragma once
#include <cstdint>

#include "runtime/kernels/linear.h"

namespace hmoe::kernels {

enum class LinearPath {
  Auto,    // what linear() does: the choice below
  Float,   // Highway, weights decoded to f32, f32 multiply-adds (every dtype)
  Int8,    // Highway, q8_0/q4_0 only: activations quantised per block of 32 to int8
  OneDnn,  // oneDNN matmul: f32 weights as they are; bf16 weights with activations rounded
           // to bf16; f16/q8/q4 weights decoded to bf16 panels, activations rounded to bf16
  Packed,  // q8_0/q4_0 repacked at load (MatrixView::packed, packed_int8.h): activations
           // quantised per block of 32 to int8, integer 4-way dot products; every batch size
};
const char* linear_path_name(LinearPath p);

// Thresholds, measured on a Zen 5 (bench/kernels/README.md has the figures).
struct LinearTuning {
  // Batches of at least this many inputs go to oneDNN (0: never):
  int64_t onednn_min_m_prepacked = 0;  // f32 / bf16 weights marked immutable (prepacked)
  int64_t onednn_min_m_plain = 0;      // f32 / bf16 weights read in place
  int64_t onednn_min_m_decoded = 0;    // f16 / q8 / q4 weights, decoded to bf16 panels
  // Batches of at most this many inputs take the int8 path for q8_0 / q4_0 (0: never).
  int64_t int8_max_m_q8 = 0;
  int64_t int8_max_m_q4 = 0;
  // Whether oneDNN may keep prepacked copies of immutable f32 / bf16 weights (its
  // blocked layouts). Off by default: oneDNN picks a layout per batch size, so a model's
  // first prefills made one or more copies of every matrix they met (an f32 GPT-2-small:
  // +1.4 GB, 8 s), where the weights as they lie cost 0-18% of prefill speed.
  bool onednn_prepack = false;
};
LinearTuning default_linear_tuning();
LinearTuning linear_tuning();
// Not thread-safe against concurrent products: set it at start-up.
void set_linear_tuning(const LinearTuning& t);

// What Auto runs for this matrix and batch size.
LinearPath linear_choose_path(const MatrixView& W, int64_t M);
// Whether `p` can compute products with this matrix at all.
bool linear_path_supports(LinearPath p, const MatrixView& W);

// linear() along one path. Throws std::invalid_argument when the path cannot do W's dtype.
void linear_with_path(LinearPath path, const float* x, int64_t M, int64_t ldx, const MatrixView& W,
                      const float* bias, float* y, int64_t ldy);

// Scalar reference of the Int8 path: the same activation codes (quantize_activations),
// exact integer block dots, double accumulation of dot * scales.
void linear_reference_int8(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias,
                           float* y, int64_t ldy);

}  // namespace hmoe::kernels
