#include "formats/model_file.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "formats/file_io.h"
#include "formats/file_prefix.h"
#include "formats/fb_header.h"

namespace hmoe {

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

std::string TensorInfo::shape_str() const {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

std::unique_ptr<ModelFile> ModelFile::open(const std::string& path) {
  std::unique_ptr<ModelFile> f(new ModelFile());
  f->source_ = path;
  const ReadableFile file(path, "model file");  // refuses FIFOs, devices, directories unopened
  f->size_ = file.size();
  if (f->size_ < sizeof(FilePrefix))
    throw FormatError("'" + path + "' is " + std::to_string(f->size_) +
                      " bytes, too small for a .hmoe file (the prefix alone is 64 bytes)");
  void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (p == MAP_FAILED) throw IoError("cannot map model file '" + path + "': " + std::strerror(errno));
  f->base_ = static_cast<const uint8_t*>(p);
  f->mapped_ = true;
  f->parse();
  return f;
}

std::unique_ptr<ModelFile> ModelFile::from_memory(const void* data, size_t size) {
  std::unique_ptr<ModelFile> f(new ModelFile());
  f->source_ = "<memory>";
  if (size < sizeof(FilePrefix))
    throw FormatError("model buffer is " + std::to_string(size) +
                      " bytes, too small for a .hmoe file (the prefix alone is 64 bytes)");
  if (data == nullptr) throw FormatError("model buffer is null");
  // Copy into storage aligned like a mapping so tensors keep their 64-byte alignment.
  f->owned_.resize(size + kDataSectionAlignment);
  uintptr_t raw = reinterpret_cast<uintptr_t>(f->owned_.data());
  uintptr_t aligned = (raw + kDataSectionAlignment - 1) & ~(uintptr_t)(kDataSectionAlignment - 1);
  std::memcpy(reinterpret_cast<void*>(aligned), data, size);
  f->base_ = reinterpret_cast<const uint8_t*>(aligned);
  f->size_ = size;
  f->parse();
  return f;
}

ModelFile::~ModelFile() {
  if (mapped_ && base_) munmap(const_cast<uint8_t*>(base_), size_);
}

void ModelFile::parse() {
  const std::string where = "'" + source_ + "': ";
  FilePrefix pre;
  std::memcpy(&pre, base_, sizeof pre);
  if (std::memcmp(pre.magic, kFileMagic, sizeof kFileMagic) != 0)
    throw FormatError(where + "not a .hmoe file (bad magic)");
  format_version_ = pre.format_version;
  if (pre.format_version == 0 || pre.format_version > kFormatVersion)
    throw FormatError(where + "format version " + std::to_string(pre.format_version) +
                      " is not supported (this build reads versions 1.." +
                      std::to_string(kFormatVersion) + ")");
  // Flags and reserved words are zero in every version this reader knows; a writer
  // that sets them means something this build would silently ignore.
  if (pre.flags != 0)
    throw FormatError(where + "unknown flags 0x" + [&] {
      char b[16];
      std::snprintf(b, sizeof b, "%x", pre.flags);
      return std::string(b);
    }() + " in the prefix (written by a newer hypermoe?)");
  if (pre.reserved[0] != 0 || pre.reserved[1] != 0)
    throw FormatError(where + "reserved prefix fields are not zero (corrupt file)");
  auto in_file = [&](uint64_t off, uint64_t len) { return off <= size_ && len <= size_ - off; };
  if (pre.header_offset < sizeof(FilePrefix) || !in_file(pre.header_offset, pre.header_size))
    throw FormatError(where + "header range [" + std::to_string(pre.header_offset) + ", +" +
                      std::to_string(pre.header_size) + ") lies outside the file of " +
                      std::to_string(size_) + " bytes (truncated?)");
  if (pre.header_size >= FLATBUFFERS_MAX_BUFFER_SIZE)
    throw FormatError(where + "header of " + std::to_string(pre.header_size) + " bytes is too large");
  if (pre.data_offset % kDataSectionAlignment != 0)
    throw FormatError(where + "data section offset " + std::to_string(pre.data_offset) +
                      " is not a multiple of " + std::to_string(kDataSectionAlignment));
  if (!in_file(pre.data_offset, pre.data_size))
    throw FormatError(where + "data section [" + std::to_string(pre.data_offset) + ", +" +
                      std::to_string(pre.data_size) + ") lies outside the file of " +
                      std::to_string(size_) + " bytes (truncated?)");
  if (pre.data_offset < pre.header_offset + pre.header_size)
    throw FormatError(where + "data section overlaps the header");

  const uint8_t* hdr = base_ + pre.header_offset;
  if (!fb::ModelBufferHasIdentifier(hdr))
    throw FormatError(where + "header lacks the HMOE identifier");
  flatbuffers::Verifier verifier(hdr, pre.header_size);
  if (!fb::VerifyModelBuffer(verifier))
    throw FormatError(where + "header failed FlatBuffers verification (corrupt file)");
  const fb::Model* fbm = fb::GetModel(hdr);
  const uint32_t alignment = fbm->data_alignment();
  if (alignment == 0 || alignment % kTensorAlignment != 0)
    throw FormatError(where + "data alignment " + std::to_string(alignment) + " is not a multiple of 64");
  header_ = header_from_fb(*fbm);
  data_alignment_ = alignment;

  const uint8_t* data = base_ + pre.data_offset;
  if (fbm->tensors()) {
    tensors_.reserve(fbm->tensors()->size());
    for (const fb::Tensor* t : *fbm->tensors()) {
      TensorInfo ti;
      ti.name = t->name()->str();
      const std::string tw = where + "tensor '" + ti.name + "': ";
      if (by_name_.count(ti.name)) throw FormatError(where + "tensor '" + ti.name + "' appears twice");
      if (!dtype_is_known(static_cast<uint8_t>(t->dtype())))
        throw FormatError(tw + "unknown dtype " + std::to_string(static_cast<int>(t->dtype())));
      ti.dtype = static_cast<DType>(t->dtype());
      if (t->shape()) {
        // FlatBuffers 2.0.8's Verifier checks a vector's length field, not that its 8-byte
        // elements are 8-byte aligned, and reading a misaligned int64 is undefined.
        if (reinterpret_cast<uintptr_t>(t->shape()->Data()) % alignof(int64_t) != 0)
          throw FormatError(tw + "shape vector is not 8-byte aligned (corrupt header)");
        for (int64_t s : *t->shape()) ti.shape.push_back(s);
      }
      if (ti.shape.empty() || ti.shape.size() > 4)
        throw FormatError(tw + "rank " + std::to_string(ti.shape.size()) + " is not 1..4");
      const int64_t want = storage_bytes(ti.dtype, ti.shape);
      if (want < 0)
        throw FormatError(tw + "shape " + ti.shape_str() + " cannot be stored as " + dtype_name(ti.dtype));
      ti.offset = t->offset();
      ti.size = t->size();
      if (ti.size != static_cast<uint64_t>(want))
        throw FormatError(tw + "size is " + std::to_string(ti.size) + " bytes, but " +
                          dtype_name(ti.dtype) + " " + ti.shape_str() + " needs " + std::to_string(want));
      if (ti.offset % alignment != 0)
        throw FormatError(tw + "offset " + std::to_string(ti.offset) + " is not " + std::to_string(alignment) +
                          "-byte aligned");
      if (ti.offset > pre.data_size || ti.size > pre.data_size - ti.offset)
        throw FormatError(tw + "bytes [" + std::to_string(ti.offset) + ", +" + std::to_string(ti.size) +
                          ") lie outside the data section of " + std::to_string(pre.data_size) + " bytes");
      ti.data = data + ti.offset;
      by_name_[ti.name] = tensors_.size();
      tensors_.push_back(std::move(ti));
    }
  }
  // Overlapping tensors would let one write alias another's weights when repacked.
  std::vector<const TensorInfo*> sorted;
  for (auto& t : tensors_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i - 1]->size && sorted[i - 1]->offset + sorted[i - 1]->size > sorted[i]->offset)
      throw FormatError(where + "tensors '" + sorted[i - 1]->name + "' and '" + sorted[i]->name + "' overlap");
}

const TensorInfo* ModelFile::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& ModelFile::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) throw FormatError("'" + source_ + "': tensor '" + name + "' is missing");
  return *t;
}

}  // namespace hmoe
