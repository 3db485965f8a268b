// Internal interface between linear()'s front end and its Highway kernels
// (linear_simd.cpp, compiled once per SIMD target; each call dispatches once).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/kernels/linear.h"

namespace hmoe::kernels {

// Arguments already checked by the front end.
using LinearProblem = LinearArgs;

// Activations quantised per block of 32 to int8 (stored widened to int16, ld = cols),
// with one f32 scale per block: x ~ q * scale. Made by quantize_activations().
struct QuantizedActivations {
  std::vector<int16_t> q;     // M * cols
  std::vector<float> scale;   // M * cols / 32
};

// Per block of 32: scale = max|x| / 127, q = round-to-nearest-even(x * (127 / max|x|)).
// Scalar on purpose: it is O(M * cols), and the scalar reference must get the same codes.
void quantize_activations(const float* x, int64_t M, int64_t ldx, int64_t cols, QuantizedActivations* out);

// Fused dequantisation, f32 multiply-adds; every dtype. OpenMP over output rows.
void simd_linear_float(const LinearProblem& p);
// q8_0 / q4_0 weights times int8 activations: integer dot per block, f32 accumulation
// of (dot * weight scale * activation scale). `p.x` is ignored; `xq` holds the inputs.
void simd_linear_int8(const LinearProblem& p, const QuantizedActivations& xq);

// Rows [r0, r0 + n) of W as bf16 (round to nearest even), row-major n x cols at `out`.
void simd_decode_rows_bf16(const MatrixView& W, int64_t r0, int64_t n, uint16_t* out);

// Highway targets compiled into the kernels (upper-case Highway names, best first), and
// the one HWY_DYNAMIC_DISPATCH picks under the current target mask.
std::vector<int64_t> simd_compiled_target_bits();
int64_t simd_dispatched_target_bit();

}  // namespace hmoe::kernels
