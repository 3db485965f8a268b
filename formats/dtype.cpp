#include "formats/dtype.h"

#include <limits>

namespace hmoe {

bool dtype_is_known(uint8_t raw) { return raw <= static_cast<uint8_t>(DType::I32); }

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::Q8_0: return "q8_0";
    case DType::Q4_0: return "q4_0";
    case DType::I32: return "i32";
  }
  return "unknown";
}

bool dtype_from_name(const std::string& n, DType* out) {
  if (n == "f32") *out = DType::F32;
  else if (n == "f16") *out = DType::F16;
  else if (n == "bf16") *out = DType::BF16;
  else if (n == "q8" || n == "q8_0") *out = DType::Q8_0;
  else if (n == "q4" || n == "q4_0") *out = DType::Q4_0;
  else if (n == "i32") *out = DType::I32;
  else return false;
  return true;
}

bool dtype_is_quantized(DType t) { return t == DType::Q8_0 || t == DType::Q4_0; }

int64_t storage_bytes(DType t, const std::vector<int64_t>& shape) {
  // Count elements with an overflow guard: shapes come from untrusted files.
  const int64_t kMax = std::numeric_limits<int64_t>::max() / 8;
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s < 0) return -1;
    if (s != 0 && n > kMax / s) return -1;
    n *= s;
  }
  switch (t) {
    case DType::F32:
    case DType::I32: return n * 4;
    case DType::F16:
    case DType::BF16: return n * 2;
    case DType::Q8_0:
    case DType::Q4_0: {
      if (shape.empty() || shape.back() % kQuantBlock != 0) return -1;
      const int64_t blocks = n / kQuantBlock;
      const int64_t quant = t == DType::Q8_0 ? n : n / 2;
      return quant + blocks * 2;  // f16 scale per block, stored after all quants
    }
  }
  return -1;
}

}  // namespace hmoe
