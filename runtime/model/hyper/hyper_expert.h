// The HyperExpert of a (layer, selection pattern): the adapter A(x) = relu(x Wd + bd) Wu + bu
// whose weights the shared hypernetwork generates from the embeddings of the experts
// the pattern does NOT select (docs/MODELS.md). Layers are addressed as slots
// (runtime/model/weights.h): every MoE layer of any architecture that has a HyperExpert.
//
// One HyperExpert is stored as one contiguous "entry" (HyperExpertLayout): the two
// matrices in the table dtype (the model's weight precision), then the two f32 biases,
// each part 64-byte aligned. The cache, the per-token path and baking all write entries
// with the same generator and the same encoder, so every path computes the same numbers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "runtime/kernels/linear.h"
#include "runtime/model/weights.h"

namespace hmoe {

// Kernel-ready weights of one HyperExpert, stored [out, in]: down = Wd^T [b, d],
// up = Wu^T [d, b]. The pointers refer to an entry or to baked tables in the file.
struct HyperExpertView {
  kernels::MatrixView down;
  const float* down_bias = nullptr;  // [b]
  kernels::MatrixView up;
  const float* up_bias = nullptr;    // [d]
};

// Where the parts of one entry lie. q8_0 / q4_0 entries also hold both matrices
// repacked for the packed int8 kernels (runtime/kernels/packed_int8.h), as the experts
// are at load: the canonical bytes are what baking writes to a file, the packed ones
// what the products read, so a batch of tokens sharing a pattern (prefill) takes the
// same fast kernel as one token (decode) and gives the same numbers.
struct HyperExpertLayout {
  DType dtype = DType::F32;  // of the two matrices; biases are always f32
  int64_t d = 0, b = 0;
  size_t down = 0, up = 0, down_bias = 0, up_bias = 0;  // byte offsets in the entry
  bool packed = false;                                  // q8_0 / q4_0: the two below exist
  size_t down_packed = 0, up_packed = 0;                // byte offsets of the repacked copies
  size_t bytes = 0;                                     // entry size, a multiple of 64

  // Throws std::invalid_argument when `dtype` cannot store [b, d] and [d, b] matrices
  // (a block type needs both d and b to be multiples of 32) or is not a float type.
  static HyperExpertLayout make(int64_t d, int64_t b, DType dtype);
  HyperExpertView view(const uint8_t* entry) const;
  // Remakes the repacked copies from the canonical matrices (no-op unless `packed`).
  // A copy records its matrix's address and the kernels use it only for that address,
  // so an entry copied elsewhere needs this before use.
  void repack(uint8_t* entry) const;
};

// The dtype the cache stores HyperExperts in: the experts' dtype, so the adapter runs at
// the precision the model was quantized to; f16 instead when that is a block type whose
// blocks do not divide d and b.
DType hyper_table_dtype(const ModelWeightsBase& w);

// 64-byte aligned bytes (entries are read by wide SIMD loads).
struct AlignedFree {
  void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t(64)); }
};
using AlignedBytes = std::unique_ptr<uint8_t[], AlignedFree>;
AlignedBytes alloc_aligned(size_t bytes);

// Encodes a row-major [rows, cols] f32 matrix into `dtype`'s storage (formats/hmoe.fbs),
// storage_bytes(dtype, {rows, cols}) bytes at `dst`.
void encode_matrix(DType dtype, const float* src, int64_t rows, int64_t cols, uint8_t* dst);

// Reusable buffers of the generator, so the per-token path does not allocate.
struct HyperGenScratch {
  std::vector<float> buf;
  std::vector<int32_t> experts;
  // HyperExperts generated for one use (the cache's transient misses), valid until the
  // next call that uses this scratch.
  AlignedBytes transient;
  size_t transient_bytes = 0;
};

// Runs the hypernetwork of `slot` for `n` selection patterns at once (one matrix
// product per generator weight for a whole batch, rather than n matrix-vector
// products) and writes entry i to dst[i] (layout.bytes each, 64-byte aligned).
// `patterns` holds n pattern indices (selection_pattern.h). Each pattern's numbers do
// not depend on n or on the other patterns of the batch.
// Throws FormatError, naming the slot and the expert set, when the file's weights
// generate a HyperExpert that the layout's dtype cannot hold.
void generate_hyper_experts(const HyperDims& dims, const HyperSlot& slot, const HyperExpertLayout& layout,
                            const uint64_t* patterns, int64_t n, uint8_t* const* dst, HyperGenScratch* scratch);

// out[m, :] = A(x[m, :]) for M rows of x (row stride d); `hidden` holds M*b floats.
void apply_hyper_expert(const HyperExpertView& he, const float* x, int64_t M, int64_t d,
                        float* out, float* hidden);

}  // namespace hmoe
