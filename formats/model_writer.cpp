#include "formats/model_writer.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "formats/atomic_file.h"
#include "formats/error.h"
#include "formats/fb_header.h"
#include "formats/file_prefix.h"

namespace hmoe {

namespace {
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
}  // namespace

ModelLayout write_model_data(AtomicFile& out, const ModelHeader& header_in, const std::vector<TensorBlob>& tensors,
                             const std::function<void(size_t, size_t)>& progress) {
  fb::ModelT header;
  header_to_fb(header_in, &header);
  header.data_alignment = kTensorAlignment;
  ModelLayout layout;
  uint64_t off = 0;
  for (const TensorBlob& t : tensors) {
    const int64_t want = storage_bytes(t.dtype, t.shape);
    if (want < 0 || static_cast<uint64_t>(want) != t.size)
      throw Error(Status::InvalidArgument, "tensor '" + t.name + "': " + std::to_string(t.size) +
                                               " bytes do not match dtype " + dtype_name(t.dtype));
    auto ft = std::make_unique<fb::TensorT>();
    ft->name = t.name;
    ft->dtype = static_cast<fb::DType>(t.dtype);
    ft->shape = t.shape;
    ft->offset = off;
    ft->size = t.size;
    header.tensors.push_back(std::move(ft));
    layout.offsets.push_back(off);
    off = align_up(off + t.size, kTensorAlignment);
  }
  const uint64_t data_size = off;

  flatbuffers::FlatBufferBuilder fbb(1 << 16);
  fbb.Finish(fb::Model::Pack(fbb, &header), fb::ModelIdentifier());

  FilePrefix pre{};
  std::memcpy(pre.magic, kFileMagic, sizeof kFileMagic);
  pre.format_version = kFormatVersion;
  pre.header_offset = sizeof(FilePrefix);
  pre.header_size = fbb.GetSize();
  pre.data_offset = align_up(pre.header_offset + pre.header_size, kDataSectionAlignment);
  pre.data_size = data_size;

  static const uint8_t zeros[kDataSectionAlignment] = {};
  auto pad_to = [&](uint64_t pos, uint64_t target) {
    while (pos < target) {
      const uint64_t n = std::min<uint64_t>(target - pos, sizeof zeros);
      out.write(zeros, n);
      pos += n;
    }
  };
  out.write(&pre, sizeof pre);
  out.write(fbb.GetBufferPointer(), fbb.GetSize());
  pad_to(pre.header_offset + pre.header_size, pre.data_offset);
  uint64_t pos = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const uint64_t at = layout.offsets[i];
    pad_to(pos, at);
    if (tensors[i].size) out.write(tensors[i].data, tensors[i].size);
    pos = at + tensors[i].size;
    if (progress) progress(i + 1, tensors.size());
  }
  pad_to(pos, data_size);
  out.flush();  // the caller may read the file back by its temporary path
  layout.data_offset = pre.data_offset;
  layout.file_size = pre.data_offset + data_size;
  return layout;
}

void write_model_file(const std::string& path, const ModelHeader& header, const std::vector<TensorBlob>& tensors,
                      const std::function<void(size_t, size_t)>& progress) {
  AtomicFile out(path);
  write_model_data(out, header, tensors, progress);
  out.commit();
}

}  // namespace hmoe
