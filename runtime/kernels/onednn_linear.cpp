#include "runtime/kernels/onednn_linear.h"

#include "runtime/kernels/linear_paths.h"

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "quant/half.h"

namespace hmoe::kernels {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

// A weight matrix: by address when its prepacked copies may be cached, else by shape
// alone (data == nullptr), with primitives that read the plain layout in place.
struct MatrixKey {
  const void* data;
  DType dtype;
  int64_t rows, cols;
  bool operator<(const MatrixKey& o) const {
    return std::tie(data, dtype, rows, cols) < std::tie(o.data, o.dtype, o.rows, o.cols);
  }
};

struct PrimKey {
  int64_t M, ldx, ldy;
  bool bias;
  bool operator<(const PrimKey& o) const { return std::tie(M, ldx, ldy, bias) < std::tie(o.M, o.ldx, o.ldy, o.bias); }
};

struct Prim {
  dnnl::matmul matmul;
  memory::desc src_md, dst_md, bias_md;
  // Each call brings its own scratchpad (scratchpad_mode::user): a primitive runs from
  // many sessions' threads at once, and oneDNN's library-managed scratchpad would be
  // shared between them (wrong tokens in the 8-session test, not seen by TSan since
  // libdnnl is not instrumented).
  memory::desc scratch_md;
  std::shared_ptr<memory> packed;  // null: plain weights, wrapped per call
};

struct MatrixState {
  std::vector<std::shared_ptr<memory>> packed;  // one per layout the primitives asked for
  std::map<PrimKey, std::shared_ptr<const Prim>> prims;
};

std::mutex g_mu;
std::map<MatrixKey, std::shared_ptr<MatrixState>> g_cache;
// A bf16 matmul failed to build after the probe below had said yes (a shape the probe
// did not cover): Highway does those products from then on. Not expected to happen.
std::atomic<bool> g_bf16_broken{false};

// Whether oneDNN has a bf16 matmul on this CPU, asked once by building a small primitive
// descriptor like the ones make_prim builds. 2.6 has one with AVX-512 (or AMX) only: none
// on AVX2 CPUs, nor on aarch64 (where the build has no Arm Compute Library). Asking up
// front keeps linear_path_supports() constant for the process: learning it from the
// first failed product would make the same question answer yes, then no.
bool bf16_matmul_available() {
  static const bool ok = [] {
    try {
      const memory::dim K = 64, N = 64;
      const memory::desc src({1, K}, dt::bf16, tag::ab), dst({1, N}, dt::f32, tag::ab);
      const memory::desc bias({1, N}, dt::f32, tag::ab);
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      for (tag layout : {tag::ba, tag::any}) {  // plain and prepacked weights
        const memory::desc wei({K, N}, dt::bf16, layout);
        const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, bias, dst), attr, engine());
        (void)pd;
      }
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return ok;
}

dt weight_type(DType t) { return t == DType::BF16 ? dt::bf16 : dt::f32; }

// Prepacked copies only for immutable weights, and only when the tuning allows them.
bool may_prepack(const MatrixView& W) { return W.immutable && linear_tuning().onednn_prepack; }

memory::desc plain_weights_md(const MatrixView& W) {
  // W is [rows = N, cols = K] row-major, i.e. the K x N weights in "ba" order.
  return memory::desc({W.cols, W.rows}, weight_type(W.dtype), tag::ba);
}

// Builds (under g_mu) the primitive for one piece size, prepacking weights if allowed.
std::shared_ptr<const Prim> make_prim(const LinearProblem& p, const PrimKey& k, MatrixState& st) {
  const MatrixView& W = p.W;
  const bool bf16 = W.dtype == DType::BF16;
  auto prim = std::make_shared<Prim>();
  // bf16 weights want bf16 inputs, converted into a contiguous scratch per call.
  prim->src_md = memory::desc({k.M, W.cols}, bf16 ? dt::bf16 : dt::f32, memory::dims{bf16 ? W.cols : k.ldx, 1});
  prim->dst_md = memory::desc({k.M, W.rows}, dt::f32, memory::dims{k.ldy, 1});
  prim->bias_md = memory::desc({1, W.rows}, dt::f32, tag::ab);
  const bool prepack = may_prepack(W);
  const memory::desc w_md = prepack ? memory::desc({W.cols, W.rows}, weight_type(W.dtype), tag::any)
                                    : plain_weights_md(W);
  const dnnl::matmul::desc desc = k.bias ? dnnl::matmul::desc(prim->src_md, w_md, prim->bias_md, prim->dst_md)
                                         : dnnl::matmul::desc(prim->src_md, w_md, prim->dst_md);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::primitive_desc pd(desc, attr, engine());
  prim->scratch_md = pd.scratchpad_desc();
  prim->matmul = dnnl::matmul(pd);
  if (prepack) {
    const memory::desc want = pd.weights_desc();
    for (const auto& m : st.packed)
      if (m->get_desc() == want) prim->packed = m;
    if (!prim->packed) {
      memory plain(plain_weights_md(W), engine(), const_cast<void*>(W.data));
      auto packed = std::make_shared<memory>(want, engine());
      dnnl::stream s(engine());
      dnnl::reorder(plain, *packed).execute(s, plain, *packed);
      s.wait();
      st.packed.push_back(packed);
      prim->packed = packed;
    }
  }
  return prim;
}

std::shared_ptr<const Prim> get_prim(const LinearProblem& p, int64_t M) {
  const MatrixView& W = p.W;
  // Primitives on weights as they lie are shared by every matrix of the shape.
  const MatrixKey mk{may_prepack(W) ? W.data : nullptr, W.dtype, W.rows, W.cols};
  const PrimKey pk{M, p.ldx, p.ldy, p.bias != nullptr};
  std::lock_guard<std::mutex> lock(g_mu);
  std::shared_ptr<MatrixState>& st = g_cache[mk];
  if (!st) st = std::make_shared<MatrixState>();
  auto it = st->prims.find(pk);
  if (it != st->prims.end()) return it->second;
  auto prim = make_prim(p, pk, *st);
  st->prims.emplace(pk, prim);
  return prim;
}

// x rows [m0, m0 + M) as contiguous bf16 (ld = cols), in a per-thread buffer.
const uint16_t* inputs_bf16(const LinearProblem& p, int64_t m0, int64_t M) {
  thread_local std::vector<uint16_t> xb;
  const int64_t K = p.W.cols;
  xb.resize(M * K);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < K; ++c) xb[m * K + c] = quant::f32_to_bf16(p.x[(m0 + m) * p.ldx + c]);
  return xb.data();
}

void execute(const Prim& prim, const MatrixView& W, const void* src, float* dst, const float* bias) {
  dnnl::engine& eng = engine();
  memory src_m(prim.src_md, eng, const_cast<void*>(src));
  memory dst_m(prim.dst_md, eng, dst);
  memory w_m = prim.packed ? *prim.packed : memory(plain_weights_md(W), eng, const_cast<void*>(W.data));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, w_m}, {DNNL_ARG_DST, dst_m}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(prim.bias_md, eng, const_cast<float*>(bias)));
  const size_t scratch_bytes = prim.scratch_md.get_size();
  if (scratch_bytes > 0) {
    // Per calling thread, 64-byte aligned, grown as needed and reused.
    thread_local std::vector<uint8_t> scratch;
    if (scratch.size() < scratch_bytes + 64) scratch.resize(scratch_bytes + 64);
    void* aligned = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(prim.scratch_md, eng, aligned));
  }
  dnnl::stream& s = thread_stream();
  prim.matmul.execute(s, args);
  s.wait();
}

int64_t floor_pow2(int64_t v) {
  int64_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

// The power-of-two pieces [m0, m0 + M) of a batch, each at least min_piece inputs.
std::vector<std::pair<int64_t, int64_t>> pieces_of(int64_t total, int64_t min_piece) {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t done = 0;
  while (total - done >= min_piece) {
    const int64_t piece = std::min(kOneDnnMaxBucket, floor_pow2(total - done));
    if (piece < min_piece) break;
    out.emplace_back(done, piece);
    done += piece;
  }
  return out;
}

// f32 / bf16 weights, multiplied where they lie (or from their cached prepacked copy).
void run_direct(const LinearProblem& p, const std::vector<std::pair<int64_t, int64_t>>& pieces) {
  for (const auto& [m0, M] : pieces) {
    const std::shared_ptr<const Prim> prim = get_prim(p, M);
    const void* src = p.W.dtype == DType::BF16 ? static_cast<const void*>(inputs_bf16(p, m0, M))
                                               : static_cast<const void*>(p.x + m0 * p.ldx);
    execute(*prim, p.W, src, p.y + m0 * p.ldy, p.bias);
  }
}

// f16 / q8 / q4 weights: panels of rows decoded to bf16, each multiplied by every piece.
void run_decoded(const LinearProblem& p, const std::vector<std::pair<int64_t, int64_t>>& pieces) {
  const int64_t K = p.W.cols, rows = p.W.rows;
  const int64_t done = pieces.back().first + pieces.back().second;
  const uint16_t* xb = inputs_bf16(p, 0, done);
  // Panels of about 4 MiB: large enough for oneDNN, small enough to stay in cache.
  const int64_t panel_rows = std::max<int64_t>(64, (4 << 20) / (2 * K) / 64 * 64);
  thread_local std::vector<uint16_t> panel;
  panel.resize(std::min(panel_rows, rows) * K);
  for (int64_t r0 = 0; r0 < rows; r0 += panel_rows) {
    const int64_t n = std::min(panel_rows, rows - r0);
    simd_decode_rows_bf16(p.W, r0, n, panel.data());
    LinearProblem q = p;
    q.W = MatrixView{DType::BF16, n, K, panel.data()};
    q.bias = p.bias ? p.bias + r0 : nullptr;
    for (const auto& [m0, M] : pieces) {
      const std::shared_ptr<const Prim> prim = get_prim(q, M);
      execute(*prim, q.W, xb + m0 * K, p.y + m0 * p.ldy + r0, q.bias);
    }
  }
}

}  // namespace

bool onednn_supports(DType t) {
  if (t == DType::F32) return true;
  // bf16 directly; f16 / q8 / q4 through bf16 panels.
  return t != DType::I32 && bf16_matmul_available() && !g_bf16_broken.load();
}

int64_t onednn_linear(const LinearProblem& p, int64_t min_piece) {
  if (!onednn_supports(p.W.dtype)) return 0;
  const auto pieces = pieces_of(p.M, std::max<int64_t>(1, min_piece));
  if (pieces.empty()) return 0;
  try {
    if (p.W.dtype == DType::F32 || p.W.dtype == DType::BF16)
      run_direct(p, pieces);
    else
      run_decoded(p, pieces);
  } catch (const dnnl::error&) {
    // Primitive creation fails before anything is written, so nothing is half done:
    // Highway does it all.
    if (p.W.dtype == DType::F32) throw;
    g_bf16_broken = true;
    return 0;
  }
  return pieces.back().first + pieces.back().second;
}

void onednn_forget(const void* data, uint64_t bytes) {
  const uint8_t* lo = static_cast<const uint8_t*>(data);
  const uint8_t* hi = lo + bytes;
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto it = g_cache.begin(); it != g_cache.end();) {
    const uint8_t* d = static_cast<const uint8_t*>(it->first.data);
    if (d && d >= lo && d < hi)
      it = g_cache.erase(it);
    else
      ++it;
  }
}

size_t onednn_cached_matrices() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_cache.size();
}

uint64_t onednn_prepacked_bytes() {
  std::lock_guard<std::mutex> lock(g_mu);
  uint64_t bytes = 0;
  for (const auto& entry : g_cache)
    for (const auto& m : entry.second->packed) bytes += m->get_desc().get_size();
  return bytes;
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  const char* rt = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP"
                   : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                   : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                        : "other";
  std::string isa;
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "other"; break;
  }
#else
  // 2.6's ISA query speaks x86 only (elsewhere its values mean something else).
  isa = "n/a";
#endif
  const char* bf16 = bf16_matmul_available() ? "bf16 matmul" : "no bf16 matmul";
  return s + " (cpu runtime " + rt + ", isa " + isa + ", " + bf16 + ")";
}

}  // namespace hmoe::kernels
