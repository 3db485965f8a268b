// Reads a .hmoe file: maps it, verifies the header, and checks every tensor's
// dtype, shape, offset and size against the file before anything touches the data.
// A bad file raises FormatError with a message that says what is wrong; a path that
// cannot be read (missing, unreadable, not a regular file) raises IoError.
//
// The file is mapped, not read: should it be truncated by another process while it is
// mapped, touching the pages past the new end raises SIGBUS and ends the process, as
// in every runtime that maps its weights (llama.cpp, safetensors). Replace model files
// with a rename (as hmoe's writers do), never by rewriting them in place.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "formats/dtype.h"
#include "formats/error.h"
#include "formats/model_header.h"

namespace hmoe {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t offset = 0;  // relative to the data section
  uint64_t size = 0;    // bytes
  const uint8_t* data = nullptr;

  int64_t numel() const;
  std::string shape_str() const;  // "[3, 4]"
};

class ModelFile {
 public:
  // Maps the file read-only. Throws IoError (cannot read the path, or it is not a
  // regular file: refused without opening it for reading) or FormatError.
  static std::unique_ptr<ModelFile> open(const std::string& path);
  // Reads from a caller's buffer, copied so the caller may free it at once.
  static std::unique_ptr<ModelFile> from_memory(const void* data, size_t size);
  ~ModelFile();
  ModelFile(const ModelFile&) = delete;
  ModelFile& operator=(const ModelFile&) = delete;

  const ModelHeader& header() const { return header_; }
  uint32_t format_version() const { return format_version_; }
  // Every tensor's offset is a multiple of it (64 or a multiple).
  uint32_t data_alignment() const { return data_alignment_; }
  const std::string& source() const { return source_; }
  uint64_t file_size() const { return size_; }
  // The whole file's bytes as mapped (or copied): tensors point into this range.
  const uint8_t* bytes() const { return base_; }

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorInfo* find(const std::string& name) const;
  // Throws FormatError naming the tensor when it is absent.
  const TensorInfo& get(const std::string& name) const;
  // Value of a metadata key, or `fallback`.
  std::string metadata(const std::string& key, const std::string& fallback = "") const {
    return header_.metadata_value(key, fallback);
  }

 private:
  ModelFile() = default;
  void parse();

  std::string source_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;
  std::vector<uint8_t> owned_;  // from_memory copy
  uint32_t format_version_ = 0;
  uint32_t data_alignment_ = 0;
  ModelHeader header_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace hmoe
