// q8_0 / q4_0 weights repacked for integer dot products: "rows in lanes".
//
// The file stores a block matrix row after row (every quant, then every f16 scale;
// formats/hmoe.fbs). A mat-vec over that layout multiplies a row's block by the input's
// block, then must sum the vector's lanes to get that row's number: a horizontal sum per
// row and block, plus a scale product per row and block, which kept decode far from the
// memory's speed. Repacked, one vector holds 16 rows side by side, 4 consecutive weights
// of each (one 32-bit lane per row): an integer 4-way dot instruction (x86 VNNI
// vpdpbusd, Arm sdot) against 4 input codes broadcast to every lane adds 4 products to
// each of the 16 rows at once. After a block's 32 columns each lane holds its row's exact
// block dot: one conversion and one multiply-add by a vector of the 16 rows' scales
// finishes the block, and no horizontal sum is ever needed.
//
// Layout of one matrix (`packed_matrix_bytes`), 64-byte aligned:
//   header (64 bytes: which canonical matrix this is, checked before use)
//   for each band of kPackedBandPairs pairs of groups of 16 rows (the last band may
//   hold fewer; the last group padded with zero rows; an odd count gets a padding group
//   of zero rows):
//   for each column panel (K/32 blocks cut into equal panels of at most
//   kPackedPanelBlocks; one panel up to 768 columns):
//   for each of the band's pairs, for each of the panel's blocks:
//     the first group's quants, then the second group's, each:
//       q8_0: 8 sub-vectors of 64 bytes; sub-vector v, bytes 4j..4j+3 = row j's weights
//             4v..4v+3 of the block, each stored as w + 128 (w XOR 0x80: unsigned bytes,
//             the operand vpdpbusd wants unsigned)
//       q4_0: 4 sub-vectors of 64 bytes; sub-vector v, byte 4j+p = row j's weight 4v+p
//             in the low nibble, weight 16+4v+p in the high nibble, each as w + 8
//             (the file's nibbles unchanged)
//     then the first group's 16 f16 scales, then the second group's (64 bytes)
// A matrix of one panel (up to 768 columns) is thus its pairs one after another. A
// pair's blocks of a panel are one contiguous stream, read front to back by the decode
// kernel, which computes both groups at once. Threads split a product by pairs (by
// whole bands where it has several panels), and a thread runs its pairs band after
// band, each band panel after panel: one stream through memory from its first band to
// its last, or, for one input and a long enough share, two such streams side by side,
// its first half and its second (run_panels, packed_int8_job.cpp). (Panels keep the
// inputs a pair reads in the L1 cache: its whole row of codes, read once per pair, was
// evicted by the 55 KB a q4_0 pair of 3072 columns streams through it, and such
// products streamed up to 20% slower than those of 768 columns on a Zen 5. Bands keep a
// thread's share of such a product one stream: with each panel stored whole, a thread's
// share of a 768x3072 product at two threads was four runs through memory, and streamed
// 0.7-0.8x as fast as a 3072x768 one; bench/kernels/README.md.) (Groups one after the
// other, each its quants then its scales, made a thread read two groups' quants and
// scales as four streams at once, whose hardware prefetching fell behind: on a Zen 5,
// 1.4x slower from memory; bench/kernels/README.md.)
//
// Arithmetic (the same on every SIMD target, bit for bit, and in the scalar reference):
// inputs are quantised once per product to int8 per block of 32 (codes in [-127, 127],
// scale sx = max|x| / 127), then for each row and block
//     dot   = sum of w * code over the 32 columns, exact in int32
//     s     = sw * sx                        (f32 multiply)
//     acc   = acc + float(dot) * s           (f32 multiply, then f32 add; not fused)
// in block order (over the panels one after another: a later panel's sums start from
// the earlier panels', kept in y), and y = acc + bias. Every step is exact or a rounding
// of the same values in the same order, so results do not depend on the target, the
// thread count, the tile shape or the batch size.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/kernels/huge_pages.h"
#include "runtime/kernels/linear.h"

namespace hmoe::kernels {

constexpr int64_t kPackedRows = 16;        // rows per group
constexpr int64_t kPackedHeaderBytes = 64;
// Columns are cut into equal panels of at most this many blocks of 32 (768 columns);
// a band holds its pairs' blocks of one panel, then of the next (the layout above).
constexpr int64_t kPackedPanelBlocks = 24;
// Pairs of row groups per band (128 rows): a q4_0 band of 3072 columns is 221 KB, a
// q8_0 one 418 KB, so a thread's share of a product is whole bands at the sizes decode
// splits, and a pair's inputs stay in L1 while the band's pairs run over one panel.
constexpr int64_t kPackedBandPairs = 4;

// Bytes of one repacked matrix (header included), a multiple of 64; 0 for dtypes that
// are not packed (anything but q8_0 / q4_0) or cols not a multiple of 32.
int64_t packed_matrix_bytes(DType t, int64_t rows, int64_t cols);

// Writes the repacked form of W (q8_0 / q4_0) to dst (packed_matrix_bytes(...) bytes,
// 64-byte aligned). Throws std::invalid_argument for other dtypes.
void pack_matrix(const MatrixView& W, void* dst);

// W's repacked form, if W.packed holds one made from exactly this matrix (same data
// address, dtype and shape); nullptr otherwise (a view cut from another, say).
const uint8_t* packed_for(const MatrixView& W);

// The view of a repacked stacked tensor: W (its first matrix, or a slice) with packed
// set, the n matrices repacked one after another at dst (n * packed_matrix_bytes(...)).
// Returns W unchanged (packed null) for dtypes that are not packed.
MatrixView pack_stacked(const MatrixView& W, int64_t n, void* dst);

// Owns the repacked copies of a model's matrices: 64-byte aligned pieces, one after
// another, of slabs in huge pages (huge_pages.h), which every decode token streams.
class PackedStore {
 public:
  // W (the first of n stacked matrices, or a lone one) with `packed` set to a repacked
  // copy owned here; W unchanged when its dtype is not repacked (f32, f16, bf16).
  MatrixView add(const MatrixView& W, int64_t n = 1);
  // Bytes of the copies (without the slabs' unused ends).
  uint64_t bytes() const { return bytes_; }

  // Slabs hold this much, or one copy larger than it.
  static constexpr size_t kSlabBytes = size_t{32} << 20;

 private:
  uint8_t* allocate(size_t bytes);
  std::vector<HugeBuffer> buffers_;
  uint8_t* open_next_ = nullptr;  // the free end of the slab being filled
  size_t open_left_ = 0;
  uint64_t bytes_ = 0;
};

// Drops from this process the memory pages lying wholly inside [p, p + bytes) of a
// read-only file mapping whose contents the kernels copied elsewhere (madvise
// MADV_DONTNEED): they stop counting in its resident memory, and a later read maps them
// in again from the file. No effect where the system lacks it.
void release_file_pages(const void* p, uint64_t bytes);

// Inputs quantised for the packed kernels: per input m and block b, codes (int8) q[m *
// ld + c], scale[m * nb + b] = max|x| / 127 and sum[m * nb + b] = the block's 32 codes
// summed. The same codes as quantize_activations (linear_simd.h): round to nearest even
// of x * (127 / max|x|); a block holding NaN or an infinity gets codes 0 and a NaN
// scale, so its products are NaN as in f32.
struct Int8Activations {
  int64_t M = 0, cols = 0, ld = 0;  // ld: cols rounded up to a multiple of 64
  std::vector<int8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> sum;
};
void quantize_activations_int8(const float* x, int64_t M, int64_t ldx, int64_t cols, Int8Activations* out);
// Scalar version (tests compare the SIMD one against it).
void quantize_activations_int8_reference(const float* x, int64_t M, int64_t ldx, int64_t cols,
                                         Int8Activations* out);

// y[m, r] for the packed path: the arithmetic above, scalar, from W's canonical bytes
// (not the repacked ones). The SIMD kernels must match it bit for bit.
void packed_linear_reference(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias,
                             float* y, int64_t ldy);

// The packed path itself (linear_paths.h: LinearPath::Packed); W must have packed_for().
void packed_linear(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y,
                   int64_t ldy);
// linear_set (linear.h) when every product has packed_for(): one parallel job over the
// pairs of row groups of all of them, each product's rows computed as packed_linear
// computes them.
void packed_linear_set(const LinearArgs* set, int64_t n);
// Output rows [r0, r1) of packed_linear only, on the calling thread, with the same
// numbers: for callers that split a product too small for linear()'s own threads
// (a HyperExpert at decode). r0 and r1 must lie on groups of kPackedRows (r1 may be
// W.rows); y and bias are indexed by absolute row, as in packed_linear.
void packed_linear_rows(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y,
                        int64_t ldy, int64_t r0, int64_t r1);

}  // namespace hmoe::kernels
