// linear() on oneDNN's matmul, for prefill-sized batches.
//
// f32 weights are multiplied as they are, bf16 weights with the inputs rounded to bf16;
// f16 / q8 / q4 weights are decoded, a panel of rows at a time, to bf16 (oneDNN 2.6 has
// no kernel for them) and multiplied with bf16 inputs.
//
// oneDNN wants one primitive per batch size (docs/DEPENDENCIES.md), which costs ~0.3 ms
// or more to make, so they are made once and cached. A batch is cut into power-of-two
// pieces of at most kOneDnnMaxBucket inputs, which bounds the primitives per shape; a
// remainder below the caller's threshold is returned to it.
//
// Weights are read in place, in their plain [rows, cols] layout, by primitives cached per
// shape. oneDNN can be faster on weights reordered ("prepacked") into a layout its kernel
// picks, but it picks one per batch size: a model's first prefills then made one copy or
// more of every matrix they met, slowly (an f32 GPT-2-small model: 8 s and +1.4 GB for
// the first prefill, 0.35 s for the next). So prepacking is off unless
// LinearTuning::onednn_prepack asks for it, and then only for MatrixView::immutable
// f32/bf16 weights (a stale copy of rewritten memory would give wrong results), keyed by
// address, with primitives per (matrix, batch size).
#pragma once
#include <cstdint>
#include <string>

#include "runtime/kernels/linear_simd.h"

namespace hmoe::kernels {

constexpr int64_t kOneDnnMaxBucket = 512;

// Whether oneDNN can take this weight dtype here: f32 always; bf16, f16, q8 and q4 (all
// multiplied as bf16) where 2.6 has a bf16 matmul, i.e. on x86 with AVX-512, not on
// AVX2-only x86 nor on aarch64. Asked of oneDNN once per process; the answer never changes.
bool onednn_supports(DType t);
// Computes inputs [0, n) of p with oneDNN, for the largest n <= p.M made of power-of-two
// pieces of at least `min_piece` inputs, and returns n (the caller does the rest).
int64_t onednn_linear(const LinearProblem& p, int64_t min_piece);
// Drops cached prepacked weights and primitives of weights in [data, data + bytes).
void onednn_forget(const void* data, uint64_t bytes);
// Number of matrices with cached state (tests).
size_t onednn_cached_matrices();
// Bytes of prepacked weight copies held (tests: none unless LinearTuning asks for them).
uint64_t onednn_prepacked_bytes();
// "2.6.3 (cpu runtime OpenMP, isa avx512_core_bf16, bf16 matmul)"-style description
// (isa "n/a" off x86, where 2.6 cannot name it).
std::string onednn_version();

}  // namespace hmoe::kernels
