#include "tests/bad_inputs/model_surgery.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "formats/file_prefix.h"

#ifndef HMOE_SEED_MODELS_DIR
#error "the build defines HMOE_SEED_MODELS_DIR (tests/fuzz/corpus/model_loader)"
#endif

namespace hmoe::bad_inputs {

std::string seed_model_path(const std::string& stem) { return std::string(HMOE_SEED_MODELS_DIR) + "/" + stem + ".hmoe"; }

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read '" + path + "'");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write '" + path + "'");
}

ModelSurgery::ModelSurgery(const std::vector<uint8_t>& file) : version_(kFormatVersion) {
  FilePrefix pre;
  if (file.size() < sizeof pre) throw std::runtime_error("seed model is too small");
  std::memcpy(&pre, file.data(), sizeof pre);
  if (pre.data_offset + pre.data_size > file.size() || pre.header_offset + pre.header_size > file.size())
    throw std::runtime_error("seed model is truncated");
  flatbuffers::Verifier verifier(file.data() + pre.header_offset, pre.header_size);
  if (!fb::VerifyModelBuffer(verifier)) throw std::runtime_error("seed model header does not verify");
  fb::GetModel(file.data() + pre.header_offset)->UnPackTo(&header_);
  data_.assign(file.begin() + static_cast<std::ptrdiff_t>(pre.data_offset),
               file.begin() + static_cast<std::ptrdiff_t>(pre.data_offset + pre.data_size));
}

fb::TensorT& ModelSurgery::tensor(const std::string& name) {
  for (auto& t : header_.tensors)
    if (t->name == name) return *t;
  throw std::runtime_error("seed model has no tensor '" + name + "'");
}

void ModelSurgery::poke_f32(const std::string& name, int64_t index, float value) {
  const fb::TensorT& t = tensor(name);
  if (t.dtype != fb::DType::F32) throw std::runtime_error("tensor '" + name + "' is not f32");
  const uint64_t at = t.offset + static_cast<uint64_t>(index) * 4;
  if (index < 0 || at + 4 > t.offset + t.size || at + 4 > data_.size())
    throw std::runtime_error("element " + std::to_string(index) + " is outside tensor '" + name + "'");
  std::memcpy(data_.data() + at, &value, 4);
}

std::vector<uint8_t> ModelSurgery::build() const {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::Model::Pack(fbb, &header_), fb::ModelIdentifier());
  FilePrefix pre{};
  std::memcpy(pre.magic, kFileMagic, sizeof pre.magic);
  pre.format_version = version_;
  pre.header_offset = sizeof(FilePrefix);
  pre.header_size = fbb.GetSize();
  pre.data_offset = (pre.header_offset + pre.header_size + kDataSectionAlignment - 1) / kDataSectionAlignment *
                    kDataSectionAlignment;
  pre.data_size = data_.size();
  std::vector<uint8_t> out(pre.data_offset + pre.data_size, 0);
  std::memcpy(out.data(), &pre, sizeof pre);
  std::memcpy(out.data() + pre.header_offset, fbb.GetBufferPointer(), fbb.GetSize());
  std::memcpy(out.data() + pre.data_offset, data_.data(), data_.size());
  return out;
}

TempFile::TempFile(const std::string& stem)
    : path_(std::string(P_tmpdir) + "/hmoe_bad_inputs_" + std::to_string(getpid()) + "_" + stem) {}

TempFile::~TempFile() { std::remove(path_.c_str()); }

const std::string& TempFile::write(const std::vector<uint8_t>& bytes) {
  write_file(path_, bytes);
  return path_;
}

TempDir::TempDir(const std::string& stem)
    : path_(std::string(P_tmpdir) + "/hmoe_bad_inputs_" + std::to_string(getpid()) + "_" + stem) {
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> TempDir::list() const {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace hmoe::bad_inputs
