// linear()'s front end: checks the arguments, picks a path (oneDNN for large batches of
// f32/bf16 weights, the Highway int8 path for small batches of q8/q4, else the Highway
// float path) and hands the product to it whole.
#include "runtime/kernels/linear.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "quant/block_formats.h"
#include "runtime/kernels/linear_check.h"
#include "runtime/kernels/linear_paths.h"
#include "runtime/kernels/linear_simd.h"
#include "runtime/kernels/onednn_linear.h"
#include "runtime/kernels/packed_int8.h"
#include "runtime/kernels/row_ops.h"
#include "runtime/kernels/simd_target.h"

namespace hmoe::kernels {

namespace {

int64_t quant_row_bytes(DType t, int64_t cols) { return t == DType::Q8_0 ? cols : cols / 2; }

LinearTuning& tuning_storage() {
  static LinearTuning t = default_linear_tuning();
  return t;
}

}  // namespace

// ------------------------------------------------------------------ MatrixView

MatrixView MatrixView::slice(int64_t i, int64_t n) const {
  if (n <= 0 || i < 0 || i >= n)
    throw std::invalid_argument("matrix slice " + std::to_string(i) + " of " + std::to_string(n));
  MatrixView v = *this;
  if (dtype_is_quantized(dtype)) {
    // Stacked block tensors are planar over the whole tensor: n matrices of quants,
    // then n matrices of scales (formats/hmoe.fbs).
    const int64_t qbytes = rows * quant_row_bytes(dtype, cols);
    const int64_t sbytes = rows * (cols / kQuantBlock) * 2;
    const uint8_t* scales0 = scales ? static_cast<const uint8_t*>(scales) : static_cast<const uint8_t*>(data) + n * qbytes;
    v.data = static_cast<const uint8_t*>(data) + i * qbytes;
    v.scales = scales0 + i * sbytes;
    if (packed) v.packed = static_cast<const uint8_t*>(packed) + i * packed_matrix_bytes(dtype, rows, cols);
  } else {
    v.data = static_cast<const uint8_t*>(data) + i * bytes();
    v.packed = nullptr;
  }
  return v;
}

int64_t MatrixView::bytes() const { return storage_bytes(dtype, {rows, cols}); }

const void* MatrixView::row_data(int64_t r) const {
  const uint8_t* base = static_cast<const uint8_t*>(data);
  switch (dtype) {
    case DType::F32:
    case DType::I32: return base + r * cols * 4;
    case DType::F16:
    case DType::BF16: return base + r * cols * 2;
    case DType::Q8_0:
    case DType::Q4_0: return base + r * quant_row_bytes(dtype, cols);
  }
  return nullptr;
}

const uint16_t* MatrixView::row_scales(int64_t r) const {
  if (!dtype_is_quantized(dtype)) return nullptr;
  const uint8_t* s0 = scales ? static_cast<const uint8_t*>(scales)
                             : static_cast<const uint8_t*>(data) + rows * quant_row_bytes(dtype, cols);
  return reinterpret_cast<const uint16_t*>(s0) + r * (cols / kQuantBlock);
}

void dequantize_row(const MatrixView& W, int64_t r, float* out) {
  if (r < 0 || r >= W.rows)
    throw std::invalid_argument("dequantize_row: row " + std::to_string(r) + " of " + std::to_string(W.rows));
  quant::decode_row_parts(W.dtype, W.row_data(r), W.row_scales(r), W.cols, out);
}

void forget_cached_weights(const void* data, uint64_t bytes) { onednn_forget(data, bytes); }

// ------------------------------------------------------------------ checks

void check_linear_args(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* y, int64_t ldy) {
  if (M < 0 || W.rows <= 0 || W.cols <= 0)
    throw std::invalid_argument("linear: bad sizes M=" + std::to_string(M) + " rows=" + std::to_string(W.rows) +
                                " cols=" + std::to_string(W.cols));
  if (ldx < W.cols || ldy < W.rows)
    throw std::invalid_argument("linear: leading dimensions ldx=" + std::to_string(ldx) + " ldy=" +
                                std::to_string(ldy) + " smaller than cols=" + std::to_string(W.cols) +
                                " rows=" + std::to_string(W.rows));
  if (W.dtype == DType::I32) throw std::invalid_argument("linear: i32 is not a weight dtype");
  if (W.bytes() < 0)
    throw std::invalid_argument(std::string("linear: ") + dtype_name(W.dtype) + " needs cols a multiple of 32, got " +
                                std::to_string(W.cols));
  if (M > 0 && (!x || !y || !W.data)) throw std::invalid_argument("linear: null pointer");
}

// ------------------------------------------------------------------ paths

const char* linear_path_name(LinearPath p) {
  switch (p) {
    case LinearPath::Auto: return "auto";
    case LinearPath::Float: return "simd-float";
    case LinearPath::Int8: return "simd-int8";
    case LinearPath::OneDnn: return "onednn";
    case LinearPath::Packed: return "packed-int8";
  }
  return "unknown";
}

LinearTuning default_linear_tuning() {
  // Single-thread crossovers on a Zen 5 (bench_linear --sweep; bench/kernels/README.md):
  // oneDNN's prepacked f32/bf16 kernels beat the Highway tiles from 2 inputs; on the
  // plain layout from 8 (bf16) to 16 (f32); with q8/q4/f16 rows decoded to bf16 panels
  // per call from 16 to 32. The int8 path beats the float path for q8 at 1 input and for
  // q4 up to 3: beyond, the float path reuses each decoded weight across a tile of inputs.
  LinearTuning t;
  t.onednn_min_m_prepacked = 2;
  t.onednn_min_m_plain = 16;
  t.onednn_min_m_decoded = 32;
  t.int8_max_m_q8 = 1;
  t.int8_max_m_q4 = 3;
  return t;
}
LinearTuning linear_tuning() { return tuning_storage(); }
void set_linear_tuning(const LinearTuning& t) { tuning_storage() = t; }

bool linear_path_supports(LinearPath p, const MatrixView& W) {
  switch (p) {
    case LinearPath::Auto:
    case LinearPath::Float: return W.dtype != DType::I32;
    case LinearPath::Int8: return dtype_is_quantized(W.dtype);
    case LinearPath::OneDnn: return onednn_supports(W.dtype);
    case LinearPath::Packed: return packed_for(W) != nullptr;
  }
  return false;
}

namespace {

// The smallest batch that goes to oneDNN for this matrix (0: never).
int64_t onednn_threshold(const LinearTuning& t, const MatrixView& W) {
  if (!onednn_supports(W.dtype)) return 0;
  if (W.dtype == DType::F32 || W.dtype == DType::BF16)
    return W.immutable && t.onednn_prepack ? t.onednn_min_m_prepacked : t.onednn_min_m_plain;
  return t.onednn_min_m_decoded;
}

}  // namespace

// The Highway path for a batch of M.
LinearPath simd_path(const MatrixView& W, int64_t M) {
  const LinearTuning& t = tuning_storage();
  if (W.dtype == DType::Q8_0 && M <= t.int8_max_m_q8) return LinearPath::Int8;
  if (W.dtype == DType::Q4_0 && M <= t.int8_max_m_q4) return LinearPath::Int8;
  return LinearPath::Float;
}

LinearPath linear_choose_path(const MatrixView& W, int64_t M) {
  if (packed_for(W)) return LinearPath::Packed;
  const int64_t threshold = onednn_threshold(tuning_storage(), W);
  if (threshold > 0 && M >= threshold) return LinearPath::OneDnn;
  return simd_path(W, M);
}

namespace {

void run_simd(LinearPath path, const LinearProblem& p) {
  if (p.M == 0) return;
  if (path == LinearPath::Int8) {
    QuantizedActivations xq;
    quantize_activations(p.x, p.M, p.ldx, p.W.cols, &xq);
    simd_linear_int8(p, xq);
  } else {
    simd_linear_float(p);
  }
}

}  // namespace

void linear_with_path(LinearPath path, const float* x, int64_t M, int64_t ldx, const MatrixView& W,
                      const float* bias, float* y, int64_t ldy) {
  check_linear_args(x, M, ldx, W, y, ldy);
  simd_apply_env_once();
  if (!linear_path_supports(path, W))
    throw std::invalid_argument(std::string("linear: path ") + linear_path_name(path) + " cannot do " +
                                dtype_name(W.dtype) + " weights");
  if (M == 0) return;
  LinearProblem p{x, M, ldx, W, bias, y, ldy};
  const bool forced = path != LinearPath::Auto;
  if (!forced) path = linear_choose_path(W, M);
  if (path == LinearPath::Packed) return packed_linear(x, M, ldx, W, bias, y, ldy);
  if (path == LinearPath::OneDnn) {
    // Whole power-of-two pieces go to oneDNN (any size when the caller forced the path);
    // a small remainder to the Highway path that Auto picks for small batches.
    const int64_t threshold = onednn_threshold(tuning_storage(), W);
    const int64_t done = onednn_linear(p, forced ? 1 : std::max<int64_t>(1, threshold));
    if (done == M) return;
    p.x += done * ldx;
    p.y += done * ldy;
    p.M -= done;
    path = simd_path(W, p.M);
  }
  run_simd(path, p);
}

void linear(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y, int64_t ldy) {
  linear_with_path(LinearPath::Auto, x, M, ldx, W, bias, y, ldy);
}

void linear_set(const LinearArgs* set, int64_t n) {
  if (n < 0 || (n > 0 && !set)) throw std::invalid_argument("linear_set: bad set of " + std::to_string(n));
  bool packed = n > 1;
  for (int64_t i = 0; i < n; ++i) {
    const LinearArgs& a = set[i];
    check_linear_args(a.x, a.M, a.ldx, a.W, a.y, a.ldy);
    packed = packed && linear_choose_path(a.W, a.M) == LinearPath::Packed;
  }
  simd_apply_env_once();
  if (packed) return packed_linear_set(set, n);
  for (int64_t i = 0; i < n; ++i) {
    const LinearArgs& a = set[i];
    linear(a.x, a.M, a.ldx, a.W, a.bias, a.y, a.ldy);
    apply_activation(a.act, a.y, a.M, a.ldy, a.W.rows, false);
  }
}

void apply_activation(Activation act, float* y, int64_t M, int64_t ldy, int64_t n, bool one_thread) {
  if (act == Activation::None || M <= 0) return;
  auto run = [act, one_thread](float* v, int64_t count) {
    if (act == Activation::GeluNew) one_thread ? gelu_new_one_thread(v, count) : gelu_new(v, count);
    else one_thread ? relu_one_thread(v, count) : relu(v, count);
  };
  if (ldy == n) return run(y, M * n);
  for (int64_t m = 0; m < M; ++m) run(y + m * ldy, n);
}

// ------------------------------------------------------------------ activations

void quantize_activations(const float* x, int64_t M, int64_t ldx, int64_t cols, QuantizedActivations* out) {
  const int64_t nb = cols / kQuantBlock;
  out->q.resize(M * cols);
  out->scale.resize(M * nb);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + m * ldx + b * kQuantBlock;
      int16_t* q = out->q.data() + m * cols + b * kQuantBlock;
      float amax = 0.f;
      bool finite = true;
      for (int64_t j = 0; j < kQuantBlock; ++j) {
        finite = finite && std::isfinite(xb[j]);
        amax = std::fmax(amax, std::fabs(xb[j]));
      }
      if (!finite) {
        // In f32 a NaN or an infinity makes the block's products NaN or infinite, so the
        // block must not yield a finite number here either: codes 0 times a NaN scale
        // give NaN. No code is computed from the values: converting a non-finite float
        // to an integer is undefined behaviour (x86 happens to give INT_MIN).
        out->scale[m * nb + b] = std::nanf("");
        std::fill_n(q, kQuantBlock, int16_t{0});
        continue;
      }
      out->scale[m * nb + b] = amax / 127.f;
      const float inv = amax > 0.f ? 127.f / amax : 0.f;
      if (std::isfinite(inv)) {
        for (int64_t j = 0; j < kQuantBlock; ++j) q[j] = static_cast<int16_t>(std::nearbyint(xb[j] * inv));
      } else {
        // amax below 127 / FLT_MAX (about 3.7e-37, e.g. subnormal activations behind a
        // layer norm with tiny weights): 127 / amax overflows, and x * inf would be
        // infinite (NaN for x = 0). |x| / amax <= 1 cannot overflow.
        for (int64_t j = 0; j < kQuantBlock; ++j)
          q[j] = static_cast<int16_t>(std::nearbyint(xb[j] / amax * 127.f));
      }
    }
}

}  // namespace hmoe::kernels
