#include "runtime/model/weight_check.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "quant/half.h"

namespace hmoe {

namespace {

// Scans `n` values of `Bits` for an all-ones exponent (NaN or infinity). Chunks are
// reduced with OR first so the common case, no bad value, is a tight loop the compiler
// vectorises; only a chunk with a hit is searched element by element.
template <typename Bits>
int64_t first_all_ones_exponent(const uint8_t* data, int64_t n, Bits exponent_mask) {
  constexpr int64_t kChunk = 4096;
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = begin + kChunk < n ? begin + kChunk : n;
    uint32_t hits = 0;  // a count, not a bool: GCC vectorises the sum, not the `|=`
    for (int64_t i = begin; i < end; ++i) {
      Bits v;
      std::memcpy(&v, data + i * sizeof(Bits), sizeof(Bits));
      hits += (v & exponent_mask) == exponent_mask;
    }
    if (hits == 0) continue;
    for (int64_t i = begin; i < end; ++i) {
      Bits v;
      std::memcpy(&v, data + i * sizeof(Bits), sizeof(Bits));
      if ((v & exponent_mask) == exponent_mask) return i;
    }
  }
  return -1;
}

float f32_at(const uint8_t* data, int64_t i) {
  float v;
  std::memcpy(&v, data + i * 4, 4);
  return v;
}

uint16_t u16_at(const uint8_t* data, int64_t i) {
  uint16_t v;
  std::memcpy(&v, data + i * 2, 2);
  return v;
}

std::string index_in_shape(int64_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] > 0 ? flat % shape[d] : 0;
    flat = shape[d] > 0 ? flat / shape[d] : 0;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

std::string value_name(float v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+inf" : "-inf";
}

}  // namespace

NonFinite find_non_finite(const TensorInfo& t) {
  NonFinite r;
  const int64_t n = t.numel();
  switch (t.dtype) {
    case DType::F32: {
      r.index = first_all_ones_exponent<uint32_t>(t.data, n, 0x7F800000u);
      if (r.found()) r.value = f32_at(t.data, r.index);
      break;
    }
    case DType::F16: {
      r.index = first_all_ones_exponent<uint16_t>(t.data, n, 0x7C00u);
      if (r.found()) r.value = quant::f16_to_f32(u16_at(t.data, r.index));
      break;
    }
    case DType::BF16: {
      r.index = first_all_ones_exponent<uint16_t>(t.data, n, 0x7F80u);
      if (r.found()) r.value = quant::bf16_to_f32(u16_at(t.data, r.index));
      break;
    }
    case DType::Q8_0:
    case DType::Q4_0: {
      // Planar blocks (formats/hmoe.fbs): all quants, then one f16 scale per 32 weights.
      const int64_t quant_bytes = t.dtype == DType::Q8_0 ? n : n / 2;
      const uint8_t* scales = t.data + quant_bytes;
      const int64_t block = first_all_ones_exponent<uint16_t>(scales, n / kQuantBlock, 0x7C00u);
      if (block >= 0) {
        r.index = block * kQuantBlock;
        r.value = quant::f16_to_f32(u16_at(scales, block));
      }
      break;
    }
    case DType::I32:
      break;
  }
  return r;
}

void check_weights_finite(const ModelFile& file) {
  for (const TensorInfo& t : file.tensors()) {
    const NonFinite bad = find_non_finite(t);
    if (!bad.found()) continue;
    const bool block = dtype_is_quantized(t.dtype);
    throw FormatError("'" + file.source() + "': tensor '" + t.name + "' (" + dtype_name(t.dtype) + " " +
                      t.shape_str() + ") holds " + value_name(bad.value) +
                      (block ? " as the scale of the block starting at " : " at ") +
                      index_in_shape(bad.index, t.shape) +
                      ": the weights are corrupt (or the training run diverged); refusing to load them");
  }
}

}  // namespace hmoe
