// Element types of tensors and how many bytes a tensor of each takes.
// The numeric values are the schema's (formats/hmoe.fbs) and never change meaning.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hmoe {

enum class DType : uint8_t { F32 = 0, F16 = 1, BF16 = 2, Q8_0 = 3, Q4_0 = 4, I32 = 5 };

// Block-quantized types quantize along the last dimension in blocks of this many weights.
constexpr int64_t kQuantBlock = 32;

bool dtype_is_known(uint8_t raw);
const char* dtype_name(DType t);
// Parses "f32", "f16", "bf16", "q8" / "q8_0", "q4" / "q4_0", "i32"; returns false if unknown.
bool dtype_from_name(const std::string& name, DType* out);
bool dtype_is_quantized(DType t);

// Bytes a tensor of this dtype and shape occupies in the file, or -1 when the shape is
// not storable in that dtype (a block type whose last dimension is not a multiple of
// kQuantBlock, a negative dimension, or a size that overflows).
int64_t storage_bytes(DType t, const std::vector<int64_t>& shape);

}  // namespace hmoe
