// Writes a .hmoe file: prefix, verified FlatBuffer header, then each tensor's bytes
// at a 64-byte aligned offset of a page-aligned data section.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "formats/dtype.h"
#include "formats/model_header.h"

namespace hmoe {

struct TensorBlob {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // must stay valid during write_model_file
  uint64_t size = 0;           // must equal storage_bytes(dtype, shape)
};

// `header` gives everything but the tensor table, which is built from `tensors`.
// Writes to `path` via a temporary file and a rename, so a failed write never leaves
// a half file under the final name. `progress(done, total)` is called per tensor.
// Throws std::runtime_error on I/O errors and std::invalid_argument on bad blobs.
void write_model_file(const std::string& path, const ModelHeader& header,
                      const std::vector<TensorBlob>& tensors,
                      const std::function<void(size_t, size_t)>& progress = {});

}  // namespace hmoe
