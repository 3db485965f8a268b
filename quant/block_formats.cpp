#include "quant/block_formats.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "quant/half.h"

namespace hmoe::quant {

namespace {

constexpr int kBlock = static_cast<int>(kQuantBlock);

// %g: an overflowing weight reads 1e+30, not thirty-one digits.
std::string float_text(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

[[noreturn]] void throw_bad_weight(const char* what, float v, int64_t row, int64_t col) {
  throw EncodeError(std::string(what) + " weight " + float_text(v) + " at row " + std::to_string(row) +
                    ", column " + std::to_string(col));
}

void check_finite(const float* w, int64_t n, int64_t row, int64_t col0) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(w[i])) throw_bad_weight("non-finite", w[i], row, col0 + i);
}

// std::fmax / std::fmin without the call: the compiler inlines them only where it may
// ignore NaNs, and as calls they took most of q4_0 encoding's time. These give their
// results for every input, NaN included (the other operand).
inline float max_or_first(float a, float b) { return b > a ? b : a; }  // fmax(a, b) for a not NaN
inline float clamp_codes(float v, float lo, float hi) {
  const float c = v >= lo ? v : lo;  // fmax(lo, v): a NaN gives lo
  return c > hi ? hi : c;            // fmin(hi, c)
}

float max_abs(const float* w, int n) {
  float m = 0.f;
  for (int i = 0; i < n; ++i) m = max_or_first(m, std::fabs(w[i]));
  return m;
}

// q4 codes of a block for scale d (0 -> all zero), and their squared error.
float q4_codes(const float* w, float d, int* q) {
  float err = 0.f;
  for (int i = 0; i < kBlock; ++i) {
    q[i] = d == 0.f ? 0 : static_cast<int>(clamp_codes(std::nearbyint(w[i] / d), -8.f, 7.f));
    const float e = w[i] - static_cast<float>(q[i]) * d;
    err += e * e;
  }
  return err;
}

}  // namespace

void quantize_block_q8(const float* w, int8_t* q, uint16_t* scale_f16) {
  const float amax = max_abs(w, kBlock);
  const uint16_t s = f32_to_f16(amax / 127.f);
  const float d = f16_to_f32(s);
  if (std::isinf(d)) throw EncodeError("q8_0 scale " + float_text(amax / 127.f) + " exceeds f16");
  *scale_f16 = s;
  for (int i = 0; i < kBlock; ++i) {
    // Divide by the stored (rounded) scale so decoding reproduces the nearest code;
    // the clamp catches a scale that rounded down.
    const float v = d == 0.f ? 0.f : std::nearbyint(w[i] / d);
    q[i] = static_cast<int8_t>(clamp_codes(v, -127.f, 127.f));
  }
}

void quantize_block_q4(const float* w, uint8_t* packed, uint16_t* scale_f16) {
  float m = 0.f;  // the weight of largest magnitude, with its sign
  for (int i = 0; i < kBlock; ++i)
    if (std::fabs(w[i]) > std::fabs(m)) m = w[i];
  int best_q[kBlock] = {};
  uint16_t best_s = 0;
  float best_err = INFINITY;
  if (m != 0.f) {
    static const float kDivisors[] = {-8.f, -7.75f, -7.5f, -7.25f, -7.f};
    for (float k : kDivisors) {
      int q[kBlock];
      q4_codes(w, m / k, q);
      float wq = 0.f, qq = 0.f;
      for (int i = 0; i < kBlock; ++i) {
        wq += w[i] * static_cast<float>(q[i]);
        qq += static_cast<float>(q[i] * q[i]);
      }
      if (qq == 0.f) continue;
      const uint16_t s = f32_to_f16(wq / qq);
      const float d = f16_to_f32(s);
      if (std::isinf(d)) throw EncodeError("q4_0 scale " + float_text(wq / qq) + " exceeds f16");
      const float err = q4_codes(w, d, q);
      if (err < best_err) {
        best_err = err;
        best_s = s;
        for (int i = 0; i < kBlock; ++i) best_q[i] = q[i];
      }
    }
  }
  *scale_f16 = best_s;
  for (int j = 0; j < kBlock / 2; ++j)
    packed[j] = static_cast<uint8_t>((best_q[j] + 8) | ((best_q[j + kBlock / 2] + 8) << 4));
}

void encode_matrix(DType t, const float* src, int64_t rows, int64_t cols, void* dst,
                   [[maybe_unused]] bool parallel) {  // unused where OpenMP is off (the fuzz build)
  if (rows < 0 || cols < 0 || storage_bytes(t, {rows, cols}) < 0)
    throw std::invalid_argument(std::string("cannot encode a ") + std::to_string(rows) + "x" + std::to_string(cols) +
                                " matrix as " + dtype_name(t) +
                                (dtype_is_quantized(t) ? " (columns must be a multiple of 32)" : ""));
  const int64_t nb = cols / kBlock;
  uint8_t* out = static_cast<uint8_t*>(dst);
  // The first error of any thread is rethrown after the loop (exceptions cannot cross
  // an OpenMP region); the lowest row wins so the message does not depend on threads.
  int64_t bad_row = -1;
  std::string bad_msg;
#pragma omp parallel for schedule(static) if (parallel && rows * cols > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const float* w = src + r * cols;
    try {
      switch (t) {
        case DType::F32:
          for (int64_t c = 0; c < cols; ++c) reinterpret_cast<float*>(out)[r * cols + c] = w[c];
          break;
        case DType::F16:
          check_finite(w, cols, r, 0);
          for (int64_t c = 0; c < cols; ++c) {
            const uint16_t h = f32_to_f16(w[c]);
            if ((h & 0x7C00u) == 0x7C00u) throw_bad_weight("f16-overflowing", w[c], r, c);
            reinterpret_cast<uint16_t*>(out)[r * cols + c] = h;
          }
          break;
        case DType::BF16:
          check_finite(w, cols, r, 0);
          for (int64_t c = 0; c < cols; ++c) {
            const uint16_t h = f32_to_bf16(w[c]);
            if ((h & 0x7F80u) == 0x7F80u) throw_bad_weight("bf16-overflowing", w[c], r, c);
            reinterpret_cast<uint16_t*>(out)[r * cols + c] = h;
          }
          break;
        case DType::Q8_0: {
          check_finite(w, cols, r, 0);
          int8_t* q = reinterpret_cast<int8_t*>(out) + r * cols;
          uint16_t* s = reinterpret_cast<uint16_t*>(out + rows * cols) + r * nb;
          for (int64_t b = 0; b < nb; ++b) quantize_block_q8(w + b * kBlock, q + b * kBlock, s + b);
          break;
        }
        case DType::Q4_0: {
          check_finite(w, cols, r, 0);
          uint8_t* q = out + r * cols / 2;
          uint16_t* s = reinterpret_cast<uint16_t*>(out + rows * cols / 2) + r * nb;
          for (int64_t b = 0; b < nb; ++b) quantize_block_q4(w + b * kBlock, q + b * kBlock / 2, s + b);
          break;
        }
        case DType::I32:
          throw std::invalid_argument("cannot encode f32 weights as i32");
      }
    } catch (const std::exception& e) {
#pragma omp critical(hmoe_encode_error)
      if (bad_row < 0 || r < bad_row) {
        bad_row = r;
        bad_msg = e.what();
      }
    }
  }
  if (bad_row >= 0) throw EncodeError(std::string("cannot encode as ") + dtype_name(t) + ": " + bad_msg);
}

void decode_row_parts(DType t, const void* row, const uint16_t* scales, int64_t cols, float* out) {
  switch (t) {
    case DType::F32: {
      const float* p = static_cast<const float*>(row);
      for (int64_t c = 0; c < cols; ++c) out[c] = p[c];
      return;
    }
    case DType::F16: {
      const uint16_t* p = static_cast<const uint16_t*>(row);
      for (int64_t c = 0; c < cols; ++c) out[c] = f16_to_f32(p[c]);
      return;
    }
    case DType::BF16: {
      const uint16_t* p = static_cast<const uint16_t*>(row);
      for (int64_t c = 0; c < cols; ++c) out[c] = bf16_to_f32(p[c]);
      return;
    }
    case DType::Q8_0: {
      const int8_t* q = static_cast<const int8_t*>(row);
      for (int64_t c = 0; c < cols; ++c) out[c] = static_cast<float>(q[c]) * f16_to_f32(scales[c / kBlock]);
      return;
    }
    case DType::Q4_0: {
      const uint8_t* q = static_cast<const uint8_t*>(row);
      for (int64_t b = 0; b < cols / kBlock; ++b) {
        const float d = f16_to_f32(scales[b]);
        const uint8_t* p = q + b * kBlock / 2;
        for (int j = 0; j < kBlock / 2; ++j) {
          out[b * kBlock + j] = static_cast<float>((p[j] & 0x0F) - 8) * d;
          out[b * kBlock + j + kBlock / 2] = static_cast<float>((p[j] >> 4) - 8) * d;
        }
      }
      return;
    }
    case DType::I32:
      break;
  }
  throw std::invalid_argument(std::string("cannot decode ") + dtype_name(t) + " as weights");
}

void decode_row(DType t, const void* src, int64_t rows, int64_t cols, int64_t r, float* out) {
  const uint8_t* base = static_cast<const uint8_t*>(src);
  const uint16_t* scales = nullptr;
  const void* row = nullptr;
  switch (t) {
    case DType::F32: row = base + r * cols * 4; break;
    case DType::F16:
    case DType::BF16: row = base + r * cols * 2; break;
    case DType::Q8_0:
      row = base + r * cols;
      scales = reinterpret_cast<const uint16_t*>(base + rows * cols) + r * (cols / kBlock);
      break;
    case DType::Q4_0:
      row = base + r * cols / 2;
      scales = reinterpret_cast<const uint16_t*>(base + rows * cols / 2) + r * (cols / kBlock);
      break;
    case DType::I32: break;
  }
  decode_row_parts(t, row, scales, cols, out);
}

void decode_matrix(DType t, const void* src, int64_t rows, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r) decode_row(t, src, rows, cols, r, dst + r * cols);
}

}  // namespace hmoe::quant
