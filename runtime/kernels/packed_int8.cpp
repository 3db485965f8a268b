// Repacking of q8_0 / q4_0 matrices into 16-row groups, the quantiser of their inputs,
// and the scalar reference of the packed path. Its front end, which splits products
// over threads, is packed_int8_job.cpp; its SIMD kernels packed_int8_simd.cpp.
#include "runtime/kernels/packed_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "quant/half.h"
#include "runtime/kernels/packed_int8_simd.h"
#include "runtime/kernels/thread_pool.h"

namespace hmoe::kernels {

namespace {

constexpr uint64_t kMagic = 0x314B434150454D48ull;  // "HMEPACK1"

struct PackedHeader {
  uint64_t magic;
  const void* source;  // the canonical quants this was made from
  int64_t rows, cols;
  int32_t dtype;
  uint8_t reserved[kPackedHeaderBytes - 36];
};
static_assert(sizeof(PackedHeader) == kPackedHeaderBytes, "header is one cache line");

}  // namespace

PackedGeometry packed_geometry(DType t, int64_t rows, int64_t cols) {
  PackedGeometry g;
  if ((t != DType::Q8_0 && t != DType::Q4_0) || rows <= 0 || cols <= 0 || cols % kQuantBlock) return g;
  g.q4 = t == DType::Q4_0;
  g.groups = (rows + kPackedRows - 1) / kPackedRows;
  g.nb = cols / kQuantBlock;
  g.panels = (g.nb + kPackedPanelBlocks - 1) / kPackedPanelBlocks;
  g.panel_nb = (g.nb + g.panels - 1) / g.panels;
  g.block_quant_bytes = packed_block_quant_bytes(g.q4);
  g.block_step = packed_block_step(g.q4);
  g.pair_bytes = g.nb * g.block_step;
  g.full_pair_bytes = g.pair_bytes;
  g.matrix_bytes = kPackedHeaderBytes + g.pairs() * g.pair_bytes;
  return g;
}

int64_t packed_matrix_bytes(DType t, int64_t rows, int64_t cols) { return packed_geometry(t, rows, cols).matrix_bytes; }

namespace {

// Group gi of W, panel g (its blocks start at W's block b0) into gq / gs (the group's
// first quants and scales in that panel); rows past W's last are zero weights with zero
// scales (the last group's padding, and an odd count's padding group, which completes
// the last pair).
void pack_group_panel(const MatrixView& W, const PackedGeometry& g, int64_t b0, uint8_t* gq, uint16_t* gs,
                      int64_t gi) {
  const int64_t subvecs = g.block_quant_bytes / 64;
  for (int64_t j = 0; j < kPackedRows; ++j) {
    const int64_t r = gi * kPackedRows + j;
    const uint8_t* row = r < W.rows ? static_cast<const uint8_t*>(W.row_data(r)) : nullptr;
    const uint16_t* sc = r < W.rows ? W.row_scales(r) : nullptr;
    for (int64_t b = 0; b < g.nb; ++b) {
      const int64_t fb = b0 + b;  // the block in W's row
      uint8_t* bq = gq + b * g.block_step + j * 4;
      for (int64_t v = 0; v < subvecs; ++v) {
        uint32_t w4;
        if (g.q4) {
          // Byte 4v+p of the file's block holds weights 4v+p (low nibble) and 16+4v+p
          // (high nibble): exactly the packed byte. Padding rows: w = 0 twice (0x88).
          if (row)
            std::memcpy(&w4, row + fb * 16 + v * 4, 4);
          else
            w4 = 0x88888888u;
        } else {
          // w + 128 = w XOR 0x80 as an unsigned byte. Padding rows: w = 0.
          if (row) {
            std::memcpy(&w4, row + fb * 32 + v * 4, 4);
            w4 ^= 0x80808080u;
          } else {
            w4 = 0x80808080u;
          }
        }
        std::memcpy(bq + v * 64, &w4, 4);
      }
      gs[b * g.scale_step() + j] = sc ? sc[fb] : 0;
    }
  }
}

// Groups [g0, g1) of W, in every panel, into `out` (the matrix's first group).
void pack_groups(const MatrixView& W, const PackedGeometry& whole, uint8_t* out, int64_t g0, int64_t g1) {
  for (int64_t i = 0; i < whole.panels; ++i) {
    const PackedGeometry g = whole.panel(i);
    for (int64_t gi = g0; gi < g1; ++gi)
      pack_group_panel(W, g, g.block0, out + g.quants_offset(gi),
                       reinterpret_cast<uint16_t*>(out + g.scales_offset(gi)), gi);
  }
}

}  // namespace

void pack_matrix(const MatrixView& W, void* dst) {
  const PackedGeometry g = packed_geometry(W.dtype, W.rows, W.cols);
  if (g.matrix_bytes == 0)
    throw std::invalid_argument(std::string("pack_matrix: cannot repack ") + dtype_name(W.dtype) + " " +
                                std::to_string(W.rows) + "x" + std::to_string(W.cols));
  if (reinterpret_cast<uintptr_t>(dst) % 64)
    throw std::invalid_argument("pack_matrix: destination not 64-byte aligned");
  PackedHeader h{};
  h.magic = kMagic;
  h.source = W.data;
  h.rows = W.rows;
  h.cols = W.cols;
  h.dtype = static_cast<int32_t>(W.dtype);
  std::memcpy(dst, &h, sizeof h);
  uint8_t* out = static_cast<uint8_t*>(dst) + kPackedHeaderBytes;
  // Large matrices (the LM head: 3142 groups) are split over the pool's threads.
  constexpr int64_t kGroupsPerTask = 64;
  const int64_t padded = 2 * g.pairs();
  const int64_t tasks = (padded + kGroupsPerTask - 1) / kGroupsPerTask;
  parallel_for(tasks, pool_threads(), [&](int64_t t, int) {
    pack_groups(W, g, out, t * kGroupsPerTask, std::min(padded, (t + 1) * kGroupsPerTask));
  });
}

const uint8_t* packed_for(const MatrixView& W) {
  if (!W.packed) return nullptr;
  PackedHeader h;
  std::memcpy(&h, W.packed, sizeof h);
  if (h.magic != kMagic || h.source != W.data || h.rows != W.rows || h.cols != W.cols ||
      h.dtype != static_cast<int32_t>(W.dtype))
    return nullptr;
  return static_cast<const uint8_t*>(W.packed);
}

MatrixView pack_stacked(const MatrixView& W, int64_t n, void* dst) {
  const int64_t bytes = packed_matrix_bytes(W.dtype, W.rows, W.cols);
  MatrixView out = W;
  out.packed = nullptr;
  if (bytes == 0 || n <= 0) return out;
  for (int64_t i = 0; i < n; ++i) pack_matrix(W.slice(i, n), static_cast<uint8_t*>(dst) + i * bytes);
  out.packed = dst;
  return out;
}

// ------------------------------------------------------------------ store

uint8_t* PackedStore::allocate(size_t bytes) {
  bytes = (bytes + 63) / 64 * 64;
  if (bytes > kSlabBytes) {
    // A slab of its own; the open one stays open for the next copies.
    buffers_.push_back(allocate_huge(bytes));
    return buffers_.back().get();
  }
  if (bytes > open_left_) {
    buffers_.push_back(allocate_huge(kSlabBytes));
    open_next_ = buffers_.back().get();
    open_left_ = kSlabBytes;
  }
  uint8_t* p = open_next_;
  open_next_ += bytes;
  open_left_ -= bytes;
  return p;
}

MatrixView PackedStore::add(const MatrixView& W, int64_t n) {
  const int64_t one = packed_matrix_bytes(W.dtype, W.rows, W.cols);
  if (one == 0 || n <= 0) {
    MatrixView v = W;
    v.packed = nullptr;
    return v;
  }
  const size_t bytes = static_cast<size_t>(one) * static_cast<size_t>(n);
  uint8_t* p = allocate(bytes);
  bytes_ += bytes;
  return pack_stacked(W, n, p);
}

void release_file_pages(const void* p, uint64_t bytes) {
#if defined(__linux__)
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
#else
  (void)p, (void)bytes;
#endif
}

// ------------------------------------------------------------------ activations

namespace {

// One block of 32 inputs: codes, scale, sum. The scalar definition of the codes.
void quantize_block_int8(const float* xb, int8_t* q, float* scale, int32_t* sum) {
  float amax = 0.f;
  bool finite = true;
  for (int64_t j = 0; j < kQuantBlock; ++j) {
    finite = finite && std::isfinite(xb[j]);
    amax = std::fmax(amax, std::fabs(xb[j]));
  }
  if (!finite) {
    // Codes 0 times a NaN scale make the block's products NaN, as in f32; no code is
    // converted from a non-finite value (undefined behaviour).
    *scale = std::nanf("");
    std::fill_n(q, kQuantBlock, int8_t{0});
    *sum = 0;
    return;
  }
  *scale = amax / 127.f;
  const float inv = amax > 0.f ? 127.f / amax : 0.f;
  int32_t s = 0;
  for (int64_t j = 0; j < kQuantBlock; ++j) {
    // amax below 127 / FLT_MAX: 127 / amax overflows, and |x| / amax * 127 cannot.
    const float v = std::isfinite(inv) ? std::nearbyint(xb[j] * inv) : std::nearbyint(xb[j] / amax * 127.f);
    q[j] = static_cast<int8_t>(v);
    s += q[j];
  }
  *sum = s;
}

void resize(Int8Activations* out, int64_t M, int64_t cols) {
  out->M = M;
  out->cols = cols;
  out->ld = cols;
  const int64_t nb = cols / kQuantBlock;
  out->q.resize(static_cast<size_t>(M * cols));
  out->scale.resize(static_cast<size_t>(M * nb));
  out->sum.resize(static_cast<size_t>(M * nb));
}

}  // namespace

void quantize_activations_int8_reference(const float* x, int64_t M, int64_t ldx, int64_t cols, Int8Activations* out) {
  resize(out, M, cols);
  const int64_t nb = cols / kQuantBlock;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t b = 0; b < nb; ++b)
      quantize_block_int8(x + m * ldx + b * kQuantBlock, out->q.data() + m * cols + b * kQuantBlock,
                          out->scale.data() + m * nb + b, out->sum.data() + m * nb + b);
}

void quantize_activations_int8(const float* x, int64_t M, int64_t ldx, int64_t cols, Int8Activations* out) {
  resize(out, M, cols);
  simd_quantize_int8(x, M, ldx, cols, out);
}

// Used by the SIMD kernels for blocks their vector code leaves out (non-finite inputs,
// tiny maxima): the scalar definition.
void quantize_int8_block_scalar(const float* xb, int8_t* q, float* scale, int32_t* sum) {
  quantize_block_int8(xb, q, scale, sum);
}

// ------------------------------------------------------------------ reference

void packed_linear_reference(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias,
                             float* y, int64_t ldy) {
  if (W.dtype != DType::Q8_0 && W.dtype != DType::Q4_0)
    throw std::invalid_argument(std::string("packed_linear_reference: ") + dtype_name(W.dtype));
  Int8Activations xa;
  quantize_activations_int8_reference(x, M, ldx, W.cols, &xa);
  const int64_t nb = W.cols / kQuantBlock;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t r = 0; r < W.rows; ++r) {
      const uint8_t* row = static_cast<const uint8_t*>(W.row_data(r));
      const uint16_t* sc = W.row_scales(r);
      float acc = 0.f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t dot = 0;
        for (int64_t c = 0; c < kQuantBlock; ++c) {
          int32_t w;
          if (W.dtype == DType::Q8_0) {
            w = static_cast<int8_t>(row[b * 32 + c]);
          } else {
            const uint8_t byte = row[b * 16 + (c & 15)];
            w = static_cast<int32_t>(c < 16 ? byte & 0x0F : byte >> 4) - 8;
          }
          dot += w * xa.q[m * W.cols + b * kQuantBlock + c];
        }
        const float s = quant::f16_to_f32(sc[b]) * xa.scale[m * nb + b];
        const float prod = static_cast<float>(dot) * s;
        acc = acc + prod;
      }
      y[m * ldy + r] = bias ? acc + bias[r] : acc;
    }
}

}  // namespace hmoe::kernels
