// Bad model files made from a good one: the header unpacked into FlatBuffers' object
// API, edited, and packed again with the data section as it was, so each test changes
// exactly one thing (a field, a tensor entry, a weight) and the header still verifies.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hmoe_generated.h"

namespace hmoe::bad_inputs {

// The seed models of the fuzz corpus (tests/fuzz/make_seeds.py), by file stem:
//   hyper_n4k2_f32_tok  HyperMoE, N 4, k 2, f32, with a 300-token tokenizer
//   plain_n4k2_f32      plain MoE, no tokenizer (token ids only)
std::string seed_model_path(const std::string& stem);
std::vector<uint8_t> read_file(const std::string& path);
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);

class ModelSurgery {
 public:
  explicit ModelSurgery(const std::vector<uint8_t>& file);

  fb::ModelT& header() { return header_; }
  fb::HParamsT& hparams() { return *header_.hparams; }
  // Throws std::runtime_error when the seed has no tensor of that name.
  fb::TensorT& tensor(const std::string& name);
  // Writes `value` as element `index` of an f32 tensor.
  void poke_f32(const std::string& name, int64_t index, float value);
  // The prefix's format_version of the next build().
  void set_format_version(uint32_t v) { version_ = v; }

  // The file: prefix, the packed header, then the original data section at the next
  // 4096-byte boundary (tensor offsets are relative to it, so they stay as edited).
  std::vector<uint8_t> build() const;

 private:
  fb::ModelT header_;
  std::vector<uint8_t> data_;
  uint32_t version_;
};

// A per-process temporary path; the file is removed when the guard goes.
class TempFile {
 public:
  explicit TempFile(const std::string& stem);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  const std::string& write(const std::vector<uint8_t>& bytes);

 private:
  std::string path_;
};

// A per-process temporary directory, removed with everything in it when the guard goes.
class TempDir {
 public:
  explicit TempDir(const std::string& stem);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // The names in the directory, hidden ones included, sorted.
  std::vector<std::string> list() const;

 private:
  std::string path_;
};

}  // namespace hmoe::bad_inputs
