// Internal interface between the packed path's front end (packed_int8_job.cpp) and its
// Highway kernels (packed_int8_simd.cpp, compiled once per SIMD target).
#pragma once
#include <algorithm>
#include <cstdint>

#include "runtime/kernels/packed_int8.h"

namespace hmoe::kernels {

// Where things are in a repacked matrix (packed_int8.h has the layout): bands of
// kPackedBandPairs pairs one after another, each holding its pairs' blocks of every
// column panel, panel after panel. In a panel's geometry (panel(i)), group g's quants
// of block b lie at quants(first, g) + b * block_step and its 16 scales at
// scales(first, g) + b * scale_step(), `first` being the matrix's first group for every
// panel. The kernels see one panel at a time.
struct PackedGeometry {
  bool q4 = false;
  int64_t groups = 0;             // groups of kPackedRows rows (an odd count has a padding group after)
  int64_t nb = 0;                 // blocks of 32 per row (of the panel, in a panel's geometry)
  int64_t panels = 1;             // column panels
  int64_t panel_nb = 0;           // blocks of every panel but the last (which may have fewer)
  int64_t block_quant_bytes = 0;  // 512 (q8_0) or 256 (q4_0): one block of a group
  int64_t block_step = 0;         // one block of a pair: both groups' quants, then both groups' scales
  int64_t pair_bytes = 0;         // nb * block_step: a pair's bytes (of the panel, in a panel's geometry)
  int64_t full_pair_bytes = 0;    // a pair's bytes over every panel
  int64_t block0 = 0;             // the panel's first block (0 for the whole matrix)
  int64_t matrix_bytes = 0;       // header + pairs (0: not packable)

  int64_t pairs() const { return (groups + 1) / 2; }
  // Panel i's first block.
  int64_t panel_block0(int64_t i) const { return i * panel_nb; }
  // Panel i alone, as a matrix of its columns.
  PackedGeometry panel(int64_t i) const {
    PackedGeometry p = *this;
    p.block0 = panel_block0(i);
    p.nb = std::min(panel_nb, nb - p.block0);
    p.panels = 1;
    p.panel_nb = p.nb;
    p.pair_bytes = p.nb * block_step;
    p.matrix_bytes = 0;
    return p;
  }
  // Bytes from the matrix's first group to pair j's first block in this panel: past the
  // whole bands before it, then past the earlier panels' blocks of its band's pairs
  // (the last band may hold fewer), then past the band's earlier pairs in this panel.
  // For a matrix of one panel, j * pair_bytes. Only a panel's geometry (panel(i), or a
  // matrix of one panel) addresses pairs: the whole geometry of several panels does not.
  int64_t pair_offset(int64_t j) const {
    const int64_t band = j / kPackedBandPairs, first = band * kPackedBandPairs;
    const int64_t in_band = std::min(kPackedBandPairs, pairs() - first);
    return first * full_pair_bytes + in_band * block0 * block_step + (j - first) * pair_bytes;
  }
  // Bytes from the first group to group g's first quants / scales.
  int64_t quants_offset(int64_t g) const { return pair_offset(g >> 1) + (g & 1) * block_quant_bytes; }
  int64_t scales_offset(int64_t g) const {
    return pair_offset(g >> 1) + 2 * block_quant_bytes + (g & 1) * kPackedRows * 2;
  }
  const uint8_t* quants(const uint8_t* first, int64_t g) const { return first + quants_offset(g); }
  const uint16_t* scales(const uint8_t* first, int64_t g) const {
    return reinterpret_cast<const uint16_t*>(first + scales_offset(g));
  }
  int64_t scale_step() const { return block_step / 2; }  // in scales (uint16)
};

// One block of a group's quants (q8_0 512 bytes, q4_0 256), and of a pair: both groups'
// quants, then both groups' 16 f16 scales. Constants, so a kernel may unroll on them.
constexpr int64_t packed_block_quant_bytes(bool q4) { return q4 ? 256 : 512; }
constexpr int64_t packed_block_step(bool q4) { return 2 * packed_block_quant_bytes(q4) + 2 * kPackedRows * 2; }
PackedGeometry packed_geometry(DType t, int64_t rows, int64_t cols);

// One panel of a product on the packed path, its inputs (that panel's columns) already
// quantised. carry: each row's sum starts from the value in y (the earlier panels'
// sum, stored without bias) instead of 0, so a row's blocks are summed in one sequence
// over the panels, as the reference sums them; bias: the last panel's only.
struct PackedProblem {
  const uint8_t* groups = nullptr;  // the matrix's first group
  PackedGeometry geo;               // the panel's
  int64_t rows = 0;
  const Int8Activations* xa = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
  int64_t ldy = 0;
  bool carry = false;
};

// Rows of groups [g0, g1) for every input.
void simd_packed_groups(const PackedProblem& p, int64_t g0, int64_t g1);
// The same as simd_packed_groups over [a0, a1) and then [b0, b1), both starting on a
// pair: the same bits. For one input on targets with a two-stream kernel, the two
// ranges' pairs are read side by side, two streams through memory.
void simd_packed_groups_two(const PackedProblem& p, int64_t a0, int64_t a1, int64_t b0, int64_t b1);
// quantize_activations_int8's SIMD body (`out` already sized).
void simd_quantize_int8(const float* x, int64_t M, int64_t ldx, int64_t cols, Int8Activations* out);
// The scalar definition of one block's codes, for the blocks the SIMD code leaves out.
void quantize_int8_block_scalar(const float* xb, int8_t* q, float* scale, int32_t* sum);

}  // namespace hmoe::kernels
