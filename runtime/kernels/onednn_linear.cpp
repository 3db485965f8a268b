#include "runtime/kernels/onednn_linear.h"

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
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
  std::shared_ptr<memory> packed;  // null: plain weights, wrapped per call
};

struct MatrixState {
  std::vector<std::shared_ptr<memory>> packed;  // one per layout the primitives asked for
  std::map<PrimKey, std::shared_ptr<const Prim>> prims;
};

std::mutex g_mu;
std::map<MatrixKey, std::shared_ptr<MatrixState>> g_cache;
std::atomic<bool> g_bf16_broken{false};  // oneDNN could not build bf16 matmul on this CPU

dt weight_type(DType t) { return t == DType::BF16 ? dt::bf16 : dt::f32; }

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
  const memory::desc w_md = W.immutable ? memory::desc({W.cols, W.rows}, weight_type(W.dtype), tag::any)
                                        : plain_weights_md(W);
  const dnnl::matmul::desc desc = k.bias ? dnnl::matmul::desc(prim->src_md, w_md, prim->bias_md, prim->dst_md)
                                         : dnnl::matmul::desc(prim->src_md, w_md, prim->dst_md);
  const dnnl::matmul::primitive_desc pd(desc, engine());
  prim->matmul = dnnl::matmul(pd);
  if (W.immutable) {
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
  const MatrixKey mk{W.immutable ? W.data : nullptr, W.dtype, W.rows, W.cols};
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

void run_piece(const LinearProblem& p, const Prim& prim, int64_t m0, int64_t M) {
  const MatrixView& W = p.W;
  dnnl::engine& eng = engine();
  thread_local std::vector<uint16_t> xb;
  void* src = const_cast<float*>(p.x + m0 * p.ldx);
  if (W.dtype == DType::BF16) {
    xb.resize(M * W.cols);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t c = 0; c < W.cols; ++c) xb[m * W.cols + c] = quant::f32_to_bf16(p.x[(m0 + m) * p.ldx + c]);
    src = xb.data();
  }
  memory src_m(prim.src_md, eng, src);
  memory dst_m(prim.dst_md, eng, p.y + m0 * p.ldy);
  memory w_m = prim.packed ? *prim.packed : memory(plain_weights_md(W), eng, const_cast<void*>(W.data));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, w_m}, {DNNL_ARG_DST, dst_m}};
  if (p.bias) args.emplace(DNNL_ARG_BIAS, memory(prim.bias_md, eng, const_cast<float*>(p.bias)));
  dnnl::stream& s = thread_stream();
  prim.matmul.execute(s, args);
  s.wait();
}

int64_t floor_pow2(int64_t v) {
  int64_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

}  // namespace

bool onednn_supports(DType t) {
  return t == DType::F32 || (t == DType::BF16 && !g_bf16_broken.load());
}

int64_t onednn_linear(const LinearProblem& p, int64_t min_piece) {
  if (!onednn_supports(p.W.dtype)) return 0;
  int64_t done = 0;
  while (p.M - done >= min_piece) {
    const int64_t piece = std::min(kOneDnnMaxBucket, floor_pow2(p.M - done));
    std::shared_ptr<const Prim> prim;
    try {
      prim = get_prim(p, piece);
    } catch (const dnnl::error&) {
      // No oneDNN kernel for this type here (bf16 needs AVX-512 in 2.6): Highway does it.
      if (p.W.dtype == DType::BF16) g_bf16_broken = true;
      return done;
    }
    run_piece(p, *prim, done, piece);
    done += piece;
  }
  return done;
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

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  const char* rt = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP"
                   : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                   : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                        : "other";
  std::string isa;
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
  return s + " (cpu runtime " + rt + ", isa " + isa + ")";
}

}  // namespace hmoe::kernels
