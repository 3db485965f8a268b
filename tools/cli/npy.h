// Writes float32 arrays as NumPy .npy (format 1.0), for checking logits from Python.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hmoe::cli {

// Writes through a temporary file renamed into place (formats/atomic_file.h): the
// destination is checked first and a failure leaves nothing behind. Throws
// hypermoe::Error (HMOE_ERR_IO) naming the path and the system's reason.
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace hmoe::cli
