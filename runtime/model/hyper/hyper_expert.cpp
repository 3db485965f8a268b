#include "runtime/model/hyper/hyper_expert.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#include "formats/model_file.h"
#include "quant/block_formats.h"
#include "runtime/kernels/linear_paths.h"
#include "runtime/kernels/packed_int8.h"
#include "runtime/kernels/thread_pool.h"
#include "runtime/model/hyper/selection_pattern.h"

namespace hmoe {

namespace {

size_t align64(size_t v) { return (v + 63) / 64 * 64; }

// Patterns generated per matrix product. Each generator weight is read once per batch,
// so bigger batches read less; 64 keeps the batch's outputs near 13 MB at GPT-2 dims.
constexpr int64_t kGenBatch = 64;

// dst[j * rows + i] = src[i * cols + j]: the [rows, cols] view transposed to [cols, rows].
void transpose(const float* src, int64_t rows, int64_t cols, float* dst) {
  constexpr int64_t kTile = 16;  // keeps both the reads and the writes within a few cache lines
  for (int64_t i0 = 0; i0 < rows; i0 += kTile)
    for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const int64_t i1 = std::min(rows, i0 + kTile), j1 = std::min(cols, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
    }
}

// Every product of a HyperExpert, generating it or applying it, takes the path linear()
// takes for one input, whatever the batch. Each path sums every (row, input) pair the
// same way for any batch size (runtime/kernels/linear_simd.cpp), but linear() picks the
// path by batch size, so without this a token's HyperExpert would differ in its last
// bits between the cache (patterns generated 64 at a time, tokens applied per pattern
// group) and the per-token path (generated per token, applied one token at a time).
void fixed_path_linear(const float* x, int64_t M, int64_t ldx, const kernels::MatrixView& W, const float* bias,
                       float* y, int64_t ldy) {
  kernels::linear_with_path(kernels::linear_choose_path(W, 1), x, M, ldx, W, bias, y, ldy);
}
void fixed_path_linear(const float* x, int64_t M, const kernels::MatrixView& W, const float* bias, float* y) {
  fixed_path_linear(x, M, W.cols, W, bias, y, W.rows);
}

void relu_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.f);
}

// Rethrows what encoding a generated matrix threw. An EncodeError means finite weights
// in the file generate a HyperExpert the table dtype cannot hold (f16 past 65504, a
// q8_0/q4_0 block scale past f16; a NaN when the weight check was turned off): the file
// is unusable at that precision, whoever asked. So it becomes a FormatError naming the
// layer and the expert set, which the C API reports as HMOE_ERR_BAD_FILE and the CLI as
// a failure (exit 1), like any bad file. Anything else passes unchanged.
[[noreturn]] void rethrow_encode_failure(const std::exception_ptr& failed, DType dtype, const std::string& slot,
                                         const int32_t* selected, int64_t k, bool down) {
  try {
    std::rethrow_exception(failed);
  } catch (const quant::EncodeError& e) {
    std::string why = e.what();
    const std::string prefix = std::string("cannot encode as ") + dtype_name(dtype) + ": ";
    if (why.compare(0, prefix.size(), prefix) == 0) why.erase(0, prefix.size());
    std::string set = "{";
    for (int64_t s = 0; s < k; ++s) set += (s ? ", " : "") + std::to_string(selected[s]);
    set += "}";
    throw FormatError(slot + ", expert set " + set +
                      ": the hypernetwork generates a HyperExpert that " + dtype_name(dtype) +
                      " cannot hold (its " + (down ? "down" : "up") + " weights: " + why +
                      "); the file's weights are unusable at " + dtype_name(dtype) +
                      " precision (a diverged or corrupt hypernetwork?); a conversion with f32 experts "
                      "would keep its HyperExperts in f32");
  }
}

}  // namespace

HyperExpertLayout HyperExpertLayout::make(int64_t d, int64_t b, DType dtype) {
  if (dtype == DType::I32)
    throw std::invalid_argument("HyperExpert tables cannot be stored as i32");
  HyperExpertLayout L;
  L.dtype = dtype;
  L.d = d;
  L.b = b;
  const int64_t down = storage_bytes(dtype, {b, d}), up = storage_bytes(dtype, {d, b});
  if (down < 0 || up < 0)
    throw std::invalid_argument(std::string("HyperExpert tables cannot be stored as ") + dtype_name(dtype) +
                                ": n_embd " + std::to_string(d) + " and adapter_dim " + std::to_string(b) +
                                " must both be multiples of " + std::to_string(kQuantBlock));
  L.down = 0;
  L.up = align64(static_cast<size_t>(down));
  L.down_bias = L.up + align64(static_cast<size_t>(up));
  L.up_bias = L.down_bias + align64(static_cast<size_t>(b) * sizeof(float));
  L.bytes = L.up_bias + align64(static_cast<size_t>(d) * sizeof(float));
  const int64_t down_packed = kernels::packed_matrix_bytes(dtype, b, d);
  const int64_t up_packed = kernels::packed_matrix_bytes(dtype, d, b);
  if (down_packed > 0 && up_packed > 0) {
    L.packed = true;
    L.down_packed = L.bytes;
    L.up_packed = L.down_packed + static_cast<size_t>(down_packed);
    L.bytes = L.up_packed + static_cast<size_t>(up_packed);
  }
  return L;
}

HyperExpertView HyperExpertLayout::view(const uint8_t* entry) const {
  HyperExpertView v;
  v.down = {dtype, b, d, entry + down};
  v.down_bias = reinterpret_cast<const float*>(entry + down_bias);
  v.up = {dtype, d, b, entry + up};
  v.up_bias = reinterpret_cast<const float*>(entry + up_bias);
  if (packed) {
    v.down.packed = entry + down_packed;
    v.up.packed = entry + up_packed;
  }
  return v;
}

void HyperExpertLayout::repack(uint8_t* entry) const {
  if (!packed) return;
  const HyperExpertView v = view(entry);
  kernels::pack_matrix(v.down, entry + down_packed);
  kernels::pack_matrix(v.up, entry + up_packed);
}

DType hyper_table_dtype(const ModelWeightsBase& w) {
  const DType experts = w.experts_dtype();
  if (dtype_is_quantized(experts) && (w.hyper_dims.d % kQuantBlock != 0 || w.hyper_dims.b % kQuantBlock != 0))
    return DType::F16;
  return experts;
}

AlignedBytes alloc_aligned(size_t bytes) {
  return AlignedBytes(static_cast<uint8_t*>(::operator new[](std::max<size_t>(bytes, 1), std::align_val_t(64))));
}

void encode_matrix(DType dtype, const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
  quant::encode_matrix(dtype, src, rows, cols, dst);
}

void generate_hyper_experts(const HyperDims& dims, const HyperSlot& slot, const HyperExpertLayout& layout,
                            const uint64_t* patterns, int64_t n, uint8_t* const* dst, HyperGenScratch* scratch) {
  if (n <= 0) return;
  if (!slot.layer || !slot.generator || !slot.generator->present() || !slot.layer->expert_embd)
    throw std::logic_error("generating a HyperExpert needs the hypernetwork, which this (baked) model lacks");
  const HyperNetLayerWeights& lw = *slot.layer;
  const HyperGeneratorWeights& g = *slot.generator;
  const int64_t layer = slot.layer_embd_row;
  const int64_t N = dims.n_experts, k = dims.top_k, e = dims.e;
  const int64_t pd = dims.pd, hin = dims.hin, le = dims.le;
  const int64_t H = dims.H, d = dims.d, b = dims.b, db = d * b;
  const int64_t zin = hin + le;
  const int64_t m_max = std::min(n, kGenBatch);

  scratch->buf.resize(static_cast<size_t>(m_max * (e + pd + zin + H + b + d + 2 * db)));
  float* U = scratch->buf.data();  // [m, e]
  float* P0 = U + m_max * e;       // [m, pd]
  float* Z = P0 + m_max * pd;      // [m, hin + le]
  float* A = Z + m_max * zin;      // [m, H]
  float* BD = A + m_max * H;       // [m, b]
  float* BU = BD + m_max * b;      // [m, d]
  float* WF = BU + m_max * d;      // [m, d*b]: weight_down(a) or weight_up(a), as generated
  float* WT = WF + m_max * db;     // [m, d*b]: the same transposed, before encoding
  scratch->experts.resize(static_cast<size_t>(m_max * k));
  int32_t* experts = scratch->experts.data();  // [m, k]: the batch's selected experts

  for (int64_t c0 = 0; c0 < n; c0 += m_max) {
    const int64_t m = std::min(m_max, n - c0);
    // u = sum of the embeddings of the experts NOT selected, in ascending expert order.
    for (int64_t i = 0; i < m; ++i) pattern_experts(patterns[c0 + i], N, k, experts + i * k);
    for (int64_t i = 0; i < m; ++i) {
      const int32_t* sel = experts + i * k;
      float* u = U + i * e;
      std::fill(u, u + e, 0.f);
      for (int64_t j = 0, s = 0; j < N; ++j) {
        if (s < k && sel[s] == j) {
          ++s;
          continue;
        }
        const float* row = lw.expert_embd + j * e;
        for (int64_t c = 0; c < e; ++c) u[c] += row[c];
      }
    }
    fixed_path_linear(U, m, lw.proc0, lw.proc0_bias, P0);
    relu_inplace(P0, m * pd);
    fixed_path_linear(P0, m, pd, lw.proc2, lw.proc2_bias, Z, zin);  // q = Z[:, 0:hin)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t c = 0; c < le; ++c) Z[i * zin + hin + c] = g.layer_embd[layer * le + c];
    fixed_path_linear(Z, m, g.linear1, g.linear1_bias, A);
    relu_inplace(A, m * H);
    fixed_path_linear(A, m, g.bias_down, g.bias_down_bias, BD);
    fixed_path_linear(A, m, g.bias_up, g.bias_up_bias, BU);

    // weight_down(a).view(d, b): Wd[i][j] = WF[i*b + j]; the kernels want Wd^T [b, d].
    // weight_up(a).view(b, d):   Wu[j][i] = WF[j*d + i]; the kernels want Wu^T [d, b].
    for (int pass = 0; pass < 2; ++pass) {
      const bool down = pass == 0;
      fixed_path_linear(A, m, down ? g.weight_down : g.weight_up, down ? g.weight_down_bias : g.weight_up_bias, WF);
      const int64_t rows = down ? d : b, cols = down ? b : d;  // of the generated view
      const size_t off = down ? layout.down : layout.up;
      // The patterns are encoded on the kernels' pool (an OpenMP team here would leave
      // its threads spinning after the load, beside the pool's, on the cores decode
      // wants). Keep the first failing pattern's exception (the lowest i, so the message
      // does not depend on the threads) and rethrow it after.
      std::exception_ptr failed;
      int64_t failed_i = m;
      std::mutex failed_mu;
      kernels::parallel_for(m, kernels::pool_threads(), [&](int64_t i, int) {
        uint8_t* out = dst[c0 + i] + off;
        try {
          if (layout.dtype == DType::F32) {
            transpose(WF + i * db, rows, cols, reinterpret_cast<float*>(out));
          } else {
            transpose(WF + i * db, rows, cols, WT + i * db);
            quant::encode_matrix(layout.dtype, WT + i * db, cols, rows, out, /*parallel=*/false);
            // The repacked copy records the canonical matrix's address: made here, in
            // the entry's final place.
            if (layout.packed)
              kernels::pack_matrix({layout.dtype, cols, rows, out},
                                   dst[c0 + i] + (down ? layout.down_packed : layout.up_packed));
          }
        } catch (...) {
          std::lock_guard<std::mutex> lock(failed_mu);
          if (i < failed_i) {
            failed_i = i;
            failed = std::current_exception();
          }
        }
      });
      if (failed) rethrow_encode_failure(failed, layout.dtype, slot.name, experts + failed_i * k, k, down);
    }
    for (int64_t i = 0; i < m; ++i) {
      std::memcpy(dst[c0 + i] + layout.down_bias, BD + i * b, static_cast<size_t>(b) * sizeof(float));
      std::memcpy(dst[c0 + i] + layout.up_bias, BU + i * d, static_cast<size_t>(d) * sizeof(float));
    }
  }
}

namespace {

// Rows [r0, r1) of W as a matrix of their own.
kernels::MatrixView row_range(const kernels::MatrixView& W, int64_t r0, int64_t r1) {
  kernels::MatrixView v = W;
  v.rows = r1 - r0;
  v.data = W.row_data(r0);
  if (dtype_is_quantized(W.dtype)) v.scales = W.row_scales(r0);
  return v;
}

// A HyperExpert applied by n_threads of the kernels' pool: the down product's rows split
// over them, then, after the ReLU, the up product's. linear() keeps products this small
// on one thread, which at decode would leave the other cores idle while the HyperExpert
// is applied; each row is computed as it would be unsplit.
void split_rows_apply(const HyperExpertView& he, const float* x, int64_t M, int64_t d, float* out, float* hidden,
                      int n_threads) {
  const int64_t b = he.down.rows;
  auto split = [&](const kernels::MatrixView& W, const float* in, int64_t ldx, const float* bias, float* y,
                   int64_t ldy) {
    // Repacked matrices are split on their pairs of row groups (each pair one stream
    // through memory), within the one repacked copy (a view of some rows has none of its
    // own and would take another path).
    const bool packed = kernels::packed_for(W) != nullptr;
    const int64_t unit = packed ? 2 * kernels::kPackedRows : 1, units = (W.rows + unit - 1) / unit;
    kernels::parallel_for(n_threads, n_threads, [&](int64_t t, int) {
      const int64_t r0 = std::min(W.rows, units * t / n_threads * unit);
      const int64_t r1 = std::min(W.rows, units * (t + 1) / n_threads * unit);
      if (r1 <= r0) return;
      if (packed)
        kernels::packed_linear_rows(in, M, ldx, W, bias, y, ldy, r0, r1);
      else
        fixed_path_linear(in, M, ldx, row_range(W, r0, r1), bias ? bias + r0 : nullptr, y + r0, ldy);
    });
  };
  split(he.down, x, d, he.down_bias, hidden, b);
  relu_inplace(hidden, M * b);
  split(he.up, hidden, b, he.up_bias, out, d);
}

// Below this many multiply-adds per thread a parallel region costs more than it saves:
// for a float entry's products, and for a repacked (q8_0/q4_0) entry's, which run
// several times faster. At GPT-2-small dims (b * d = 49152 at decode) a repacked entry
// split over two threads cost more in hand-outs than it saved: its share of 2-thread
// decode was 1.51-1.67% (q8_0) and 1.99-2.08% (q4_0) split, 1.46-1.49% and 1.61-1.68%
// on one thread.
constexpr int64_t kMinWorkPerThread = 16384;
constexpr int64_t kMinPackedWorkPerThread = 131072;

}  // namespace

void apply_hyper_expert(const HyperExpertView& he, const float* x, int64_t M, int64_t d, float* out,
                        float* hidden) {
  const int64_t b = he.down.rows;
  const int64_t work = M * b * d;
  const int64_t per_thread = kernels::packed_for(he.down) ? kMinPackedWorkPerThread : kMinWorkPerThread;
  const int n_threads = static_cast<int>(std::min<int64_t>(kernels::pool_threads(), work / per_thread));
  if (n_threads > 1) return split_rows_apply(he, x, M, d, out, hidden, n_threads);
  fixed_path_linear(x, M, d, he.down, he.down_bias, hidden, b);
  relu_inplace(hidden, M * b);
  fixed_path_linear(hidden, M, b, he.up, he.up_bias, out, d);
}

}  // namespace hmoe
