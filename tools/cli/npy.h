// Writes float32 arrays as NumPy .npy (format 1.0), for checking logits from Python.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hmoe::cli {

// Throws std::runtime_error when the file cannot be written.
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace hmoe::cli
