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

class AtomicFile;

struct TensorBlob {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // must stay valid during write_model_file
  uint64_t size = 0;           // must equal storage_bytes(dtype, shape)
};

// Where write_model_data() put things: the data section's offset in the file and each
// blob's offset inside it, in the order given.
struct ModelLayout {
  uint64_t data_offset = 0;
  std::vector<uint64_t> offsets;
  uint64_t file_size = 0;
};

// `header` gives everything but the tensor table, which is built from `tensors`.
// Writes the whole file to `out` without committing it, so a caller may still fill in
// tensor bytes at the returned offsets (out.pwrite) before out.commit().
// `progress(done, total)` is called per tensor. Throws IoError on I/O errors (the
// caller's AtomicFile then removes what was written) and hmoe::Error
// (InvalidArgument) for a blob whose size does not match its dtype and shape.
ModelLayout write_model_data(AtomicFile& out, const ModelHeader& header, const std::vector<TensorBlob>& tensors,
                             const std::function<void(size_t, size_t)>& progress = {});

// The same to `path`, through an AtomicFile (formats/atomic_file.h): the destination is
// checked first, and a failure leaves nothing behind.
void write_model_file(const std::string& path, const ModelHeader& header,
                      const std::vector<TensorBlob>& tensors,
                      const std::function<void(size_t, size_t)>& progress = {});

}  // namespace hmoe
