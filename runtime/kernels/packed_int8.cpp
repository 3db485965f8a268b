// Repacking of q8_0 / q4_0 matrices into 16-row groups, the scalar reference of the
// packed path, and its front end: quantise the inputs once, split the row groups over
// the pool's threads, run the SIMD kernel (packed_int8_simd.cpp) on each share.
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

// ------------------------------------------------------------------ front end

namespace {

// Weight bytes below which a product stays on one thread, and the least a thread is
// given (a job costs about a microsecond to hand out when the helpers are awake).
constexpr int64_t kMinParallelBytes = 96 << 10;
constexpr int64_t kMinBytesPerThread = 48 << 10;

// How a job's pairs of row groups (each one stream through memory) are cut into tasks
// for `threads` threads, by work (a pair's bytes, times its inputs past the first four):
// the pairs of a set of products may differ a hundredfold (a HyperExpert's up-projection
// beside an expert's), and a cut by pairs once left one thread twice the other's bytes.
//
// While the pool's helpers are awake (spinning between jobs): first one large contiguous
// task per thread, together 90% of the work, then two small tasks per thread for the
// rest, which whoever is free first takes (a helper that starts a little late, or runs
// slower, leaves little for the others to wait on). Every task starts a new stream
// through memory, which the hardware prefetchers must pick up again, and costs a claim
// on a cache line the threads share: a token's q4_0 products at GPT-2-small dims, on 2
// threads of a Zen 5, streamed 24-28 GB/s cut into 48 KiB tasks and 40-43 cut into 4
// equal tasks per thread; this split did as well or a little better than the other
// mixes tried (bench/kernels/README.md).
//
// While they sleep (other processes want the cores, or spinning is off), a helper may
// join a job tens of microseconds late, or not at all, and a large task it claimed late
// would hold the job up: then tasks of about 48 KiB, most of which the caller takes.
struct WorkSplit {
  static constexpr int64_t kTailTasksPerThread = 2;
  static constexpr int64_t kFineTaskBytes = 48 << 10;
  int64_t total = 0, n_big = 0, big = 0, tail_tasks = 0;

  WorkSplit(int64_t total_work, int threads, bool helpers_awake) : total(total_work) {
    if (helpers_awake) {
      n_big = threads;
      big = total * 9 / (10 * threads);
      tail_tasks = threads * kTailTasksPerThread;
    } else {
      tail_tasks = (total + kFineTaskBytes - 1) / kFineTaskBytes;
    }
  }
  int64_t tasks() const { return n_big + tail_tasks; }
  // Where task t's work starts (t = tasks(): the end).
  int64_t start(int64_t t) const {
    const int64_t rest = total - n_big * big;
    return t <= n_big ? t * big : n_big * big + (rest * (t - n_big) + tail_tasks - 1) / tail_tasks;
  }
};

// The products of one job, their pairs numbered one after another.
struct JobScratch {
  std::vector<Int8Activations> acts;  // one buffer of codes per panel problem, alive until the job ends
  std::vector<PackedProblem> probs;   // every product's panels, one product after another
  // Product i: panels probs[first_prob[i], first_prob[i + 1]), pairs [first_pair[i],
  // first_pair[i + 1]) of the job's, work [first_work[i], first_work[i + 1]),
  // pair_work[i] per pair, activation act[i].
  std::vector<int64_t> first_prob, first_pair, first_work, pair_work;
  std::vector<Activation> act;
};
thread_local JobScratch tl_job;

// The panel problems of one packed product (`packed`: packed_for(W), checked by the
// caller) into out[0, panels), each panel's columns of the inputs quantised into
// acts[i] (blocks are quantised alone: the same codes as the whole row's). Returns the
// whole matrix's geometry.
PackedGeometry panel_problems(const uint8_t* packed, const float* x, int64_t M, int64_t ldx, const MatrixView& W,
                              const float* bias, float* y, int64_t ldy, Int8Activations* acts, PackedProblem* out) {
  const PackedGeometry whole = packed_geometry(W.dtype, W.rows, W.cols);
  for (int64_t i = 0; i < whole.panels; ++i) {
    PackedProblem& p = out[i];
    p = PackedProblem{};
    p.geo = whole.panel(i);
    p.groups = packed + kPackedHeaderBytes;
    quantize_activations_int8(x + p.geo.block0 * kQuantBlock, M, ldx, p.geo.nb * kQuantBlock, &acts[i]);
    p.rows = W.rows;
    p.xa = &acts[i];
    p.bias = i + 1 == whole.panels ? bias : nullptr;
    p.y = y;
    p.ldy = ldy;
    p.carry = i > 0;
  }
  return whole;
}

// Asks for a panel's input codes, scales and sums ahead of their use.
void prefetch_inputs(const Int8Activations& xa) {
  const int64_t nb = xa.cols / kQuantBlock;
  for (int64_t o = 0; o < xa.M * xa.ld; o += 64) __builtin_prefetch(xa.q.data() + o);
  for (int64_t o = 0; o < xa.M * nb; o += 16) {
    __builtin_prefetch(xa.scale.data() + o);
    __builtin_prefetch(xa.sum.data() + o);
  }
}

// A thread's groups of one product, one input, are read as two streams side by side
// (its range's first half beside its second) once each half is at least this long. On
// a Zen 5 one core then keeps more of its reads in flight: the decode kernel's loop over
// long ranges read 1.06-1.19x faster from memory in a microbenchmark, and decode
// tokens/s rose 1.07x (q4_0) and 1.12x (q8_0) at one thread, 1.02x and 1.10x at two, at
// GPT-2-small dims (bench/kernels/README.md, "Two streams per thread"). Shorter halves
// lose: each stream start is a new ramp for the prefetchers (halves of 55 KB read
// 0.86-0.92x as fast as one stream), and with 128 KiB halves allowed decode was 1-2%
// slower than with this bound.
constexpr int64_t kTwoStreamBytes = 256 << 10;

// Groups [g0, g1) of a product of n panels as one stream: band after band, each panel
// after panel, in the order they lie in memory (a band's rows sum panel after panel, as
// the reference sums them). The next panel's inputs are asked for as each panel starts:
// a q8_0 band of 3072 columns streams 416 KB before a panel's inputs come round again,
// far enough to push them out of the nearer caches; without the prefetch, q8_0 decode at
// switch-base-8 dims and one thread ran 0.94-0.98x as fast as with panels stored whole
// (in-process A/B, four runs), with it 0.97-1.02x.
void run_panels_one_stream(const PackedProblem* panels, int64_t n, int64_t g0, int64_t g1) {
  if (n == 1) return simd_packed_groups(panels[0], g0, g1);
  constexpr int64_t kBandGroups = 2 * kPackedBandPairs;
  for (int64_t b0 = g0; b0 < g1;) {
    const int64_t b1 = std::min(g1, (b0 / kBandGroups + 1) * kBandGroups);
    for (int64_t i = 0; i < n; ++i) {
      prefetch_inputs(*panels[i + 1 < n ? i + 1 : 0].xa);
      simd_packed_groups(panels[i], b0, b1);
    }
    b0 = b1;
  }
}

// Groups [g0, g1) of a product of n panels: as two streams (kTwoStreamBytes) where the
// range is long enough and starts on a unit (a pair; a band where there are several
// panels, so that each stream runs band after band through memory as above), the
// units of its first half beside those of its second; the rest as one stream. The
// same sums in the same order either way.
void run_panels(const PackedProblem* panels, int64_t n, int64_t g0, int64_t g1) {
  const PackedGeometry& geo = panels[0].geo;
  const int64_t unit = n == 1 ? 2 : 2 * kPackedBandPairs;  // in groups
  const int64_t unit_bytes = n == 1 ? geo.pair_bytes : kPackedBandPairs * geo.full_pair_bytes;
  const int64_t half = (g1 - g0) / unit / 2;  // units per stream
  if (panels[0].xa->M != 1 || g0 % unit != 0 || half * unit_bytes < kTwoStreamBytes)
    return run_panels_one_stream(panels, n, g0, g1);
  const int64_t mid = g0 + half * unit, end = mid + half * unit;
  if (n == 1) {
    simd_packed_groups_two(panels[0], g0, mid, mid, end);
  } else {
    for (int64_t a = g0, b = mid; a < mid; a += unit, b += unit)
      for (int64_t i = 0; i < n; ++i) {
        prefetch_inputs(*panels[i + 1 < n ? i + 1 : 0].xa);
        simd_packed_groups_two(panels[i], a, a + unit, b, b + unit);
      }
  }
  run_panels_one_stream(panels, n, end, g1);
}

// The packed path for n products (one: packed_linear; several: linear_set), as one job.
void run_packed_job(const LinearArgs* set, int64_t n, const char* caller) {
  JobScratch& job = tl_job;  // the caller's: the tasks below read it from other threads
  int64_t panels = 0;
  for (int64_t i = 0; i < n; ++i) {
    const LinearArgs& a = set[i];
    if (!packed_for(a.W))
      throw std::invalid_argument(std::string(caller) + ": product " + std::to_string(i) +
                                  " has no repacked weights of its own");
    if (a.M > 0) panels += packed_geometry(a.W.dtype, a.W.rows, a.W.cols).panels;
  }
  if (static_cast<int64_t>(job.acts.size()) < panels) job.acts.resize(static_cast<size_t>(panels));
  job.probs.resize(static_cast<size_t>(panels));
  job.act.clear();
  job.pair_work.clear();
  job.first_prob.assign(1, 0);
  job.first_pair.assign(1, 0);
  job.first_work.assign(1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const LinearArgs& a = set[i];
    if (a.M <= 0) continue;
    const int64_t k = job.first_prob.back();
    // a.W.packed: packed_for(a.W), checked above.
    const PackedGeometry g = panel_problems(static_cast<const uint8_t*>(a.W.packed), a.x, a.M, a.ldx, a.W, a.bias,
                                            a.y, a.ldy, &job.acts[static_cast<size_t>(k)],
                                            &job.probs[static_cast<size_t>(k)]);
    job.first_prob.push_back(k + g.panels);
    job.act.push_back(a.act);
    // Work per pair grows with the inputs once they no longer ride along for free.
    job.pair_work.push_back(g.pair_bytes * std::max<int64_t>(1, a.M / 4));
    job.first_pair.push_back(job.first_pair.back() + g.pairs());
    job.first_work.push_back(job.first_work.back() + job.pair_work.back() * g.pairs());
  }
  const int64_t pairs = job.first_pair.back(), total = job.first_work.back();
  if (pairs == 0) return;
  // Pairs [p0, p1) of the job, which may span products.
  auto run_pairs = [&job](int64_t p0, int64_t p1) {
    const std::vector<int64_t>& first = job.first_pair;
    size_t i = static_cast<size_t>(std::upper_bound(first.begin(), first.end(), p0) - first.begin() - 1);
    for (; p0 < p1; ++i) {
      const int64_t end = std::min(p1, first[i + 1]);
      const PackedProblem* product = &job.probs[static_cast<size_t>(job.first_prob[i])];
      const PackedProblem& p = product[0];
      const int64_t g0 = 2 * (p0 - first[i]), g1 = std::min(p.geo.groups, 2 * (end - first[i]));
      run_panels(product, job.first_prob[i + 1] - job.first_prob[i], g0, g1);
      // The rows just computed, while they are in this thread's cache.
      const int64_t r0 = g0 * kPackedRows;
      apply_activation(job.act[i], p.y + r0, p.xa->M, p.ldy, std::min(p.rows, g1 * kPackedRows) - r0, true);
      p0 = end;
    }
  };
  const int threads = total >= kMinParallelBytes
                          ? static_cast<int>(std::min<int64_t>({pool_threads(), total / kMinBytesPerThread, pairs}))
                          : 1;
  if (threads <= 1) return run_pairs(0, pairs);
  // The pair boundary nearest to a point of work; in a product of several panels, the
  // nearest band boundary (a thread's share is then one stream through memory).
  auto pair_at = [&job, pairs, total](int64_t w) {
    if (w >= total) return pairs;
    const std::vector<int64_t>& first = job.first_work;
    const size_t i = static_cast<size_t>(std::upper_bound(first.begin(), first.end(), w) - first.begin() - 1);
    const int64_t unit = job.first_prob[i + 1] - job.first_prob[i] > 1 ? kPackedBandPairs : 1;
    const int64_t unit_work = job.pair_work[i] * unit;
    const int64_t p = (w - first[i] + unit_work / 2) / unit_work * unit;
    return job.first_pair[i] + std::min(p, job.first_pair[i + 1] - job.first_pair[i]);
  };
  const WorkSplit split(total, threads, pool_helpers_awake());
  parallel_for(split.tasks(), threads, [&](int64_t t, int) {
    const int64_t p0 = pair_at(split.start(t)), p1 = pair_at(split.start(t + 1));
    if (p0 < p1) run_pairs(p0, p1);
  });
}

}  // namespace

void packed_linear(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y,
                   int64_t ldy) {
  if (!packed_for(W)) throw std::invalid_argument("packed_linear: the view has no repacked weights of its own");
  const LinearArgs one{x, M, ldx, W, bias, y, ldy};
  run_packed_job(&one, 1, "packed_linear");
}

void packed_linear_set(const LinearArgs* set, int64_t n) { run_packed_job(set, n, "packed_linear_set"); }

void packed_linear_rows(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y,
                        int64_t ldy, int64_t r0, int64_t r1) {
  if (r0 < 0 || r1 > W.rows || r0 > r1 || r0 % kPackedRows != 0 || (r1 % kPackedRows != 0 && r1 != W.rows))
    throw std::invalid_argument("packed_linear_rows: rows [" + std::to_string(r0) + ", " + std::to_string(r1) +
                                ") of " + std::to_string(W.rows) + " do not start and end on groups of " +
                                std::to_string(kPackedRows));
  const uint8_t* packed = packed_for(W);
  if (!packed) throw std::invalid_argument("packed_linear_rows: the view has no repacked weights of its own");
  if (M <= 0 || r0 == r1) return;
  // The caller's own buffers (this runs on the calling thread only).
  thread_local std::vector<Int8Activations> acts;
  thread_local std::vector<PackedProblem> panels;
  const size_t n = static_cast<size_t>(packed_geometry(W.dtype, W.rows, W.cols).panels);
  if (acts.size() < n) acts.resize(n);
  panels.resize(n);
  panel_problems(packed, x, M, ldx, W, bias, y, ldy, acts.data(), panels.data());
  run_panels(panels.data(), static_cast<int64_t>(n), r0 / kPackedRows, (r1 + kPackedRows - 1) / kPackedRows);
}

}  // namespace hmoe::kernels
