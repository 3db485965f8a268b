// The reader accepts what the writer writes and refuses every kind of bad file with a
// message that says what is wrong (and never crashes).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "formats/file_prefix.h"
#include "formats/model_file.h"
#include "formats/model_writer.h"
// This test forges headers the writer would never write: it uses the schema itself.
#include "hmoe_generated.h"

using namespace hmoe;

namespace {

std::string temp_path(const std::string& name) {
  return std::string(P_tmpdir) + "/hmoe_test_" + std::to_string(getpid()) + "_" + name;
}

fb::ModelT small_header() {
  fb::ModelT h;
  h.hparams = std::make_unique<fb::HParamsT>();
  h.hparams->vocab_size = 10;
  h.hparams->n_embd = 4;
  auto kv = std::make_unique<fb::KeyValueT>();
  kv->key = "general.name";
  kv->value = "tiny";
  h.metadata.push_back(std::move(kv));
  return h;
}

// The same header as the writer takes it.
ModelHeader small_model_header() {
  ModelHeader h;
  h.hparams.vocab_size = 10;
  h.hparams.n_embd = 4;
  h.metadata.emplace_back("general.name", "tiny");
  return h;
}

std::vector<uint8_t> read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::string load_error(const std::vector<uint8_t>& bytes) {
  try {
    ModelFile::from_memory(bytes.data(), bytes.size());
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

// A file whose tensor table is given raw, bypassing the writer's checks.
std::vector<uint8_t> raw_file(const std::vector<fb::TensorT>& entries, uint64_t data_size,
                              uint32_t version = kFormatVersion) {
  fb::ModelT h = small_header();
  for (const auto& e : entries) h.tensors.push_back(std::make_unique<fb::TensorT>(e));
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::Model::Pack(fbb, &h), fb::ModelIdentifier());
  FilePrefix pre{};
  std::memcpy(pre.magic, kFileMagic, 8);
  pre.format_version = version;
  pre.header_offset = 64;
  pre.header_size = fbb.GetSize();
  pre.data_offset = (64 + fbb.GetSize() + 4095) / 4096 * 4096;
  pre.data_size = data_size;
  std::vector<uint8_t> out(pre.data_offset + data_size, 0);
  std::memcpy(out.data(), &pre, 64);
  std::memcpy(out.data() + 64, fbb.GetBufferPointer(), fbb.GetSize());
  return out;
}

fb::TensorT entry(const std::string& name, fb::DType dt, std::vector<int64_t> shape, uint64_t off, uint64_t size) {
  fb::TensorT t;
  t.name = name;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.offset = off;
  t.size = size;
  return t;
}

}  // namespace

TEST_CASE("writer output loads back with every tensor in place and aligned") {
  const std::string path = temp_path("roundtrip.hmoe");
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<float> b = {7, 8, 9};
  write_model_file(path, small_model_header(),
                   {{"a", DType::F32, {2, 3}, a.data(), 24}, {"b", DType::F32, {3}, b.data(), 12}});
  auto f = ModelFile::open(path);
  REQUIRE(f->tensors().size() == 2);
  const TensorInfo& ta = f->get("a");
  CHECK(ta.shape == std::vector<int64_t>{2, 3});
  CHECK(reinterpret_cast<uintptr_t>(ta.data) % 64 == 0);
  CHECK(std::memcmp(ta.data, a.data(), 24) == 0);
  CHECK(std::memcmp(f->get("b").data, b.data(), 12) == 0);
  CHECK(f->metadata("general.name") == "tiny");
  CHECK(f->metadata("missing", "x") == "x");
  CHECK_THROWS_WITH_AS(f->get("c"), doctest::Contains("tensor 'c' is missing"), FormatError);
  // The same bytes load from memory too.
  auto bytes = read_all(path);
  auto g = ModelFile::from_memory(bytes.data(), bytes.size());
  CHECK(std::memcmp(g->get("a").data, a.data(), 24) == 0);
  std::remove(path.c_str());
}

TEST_CASE("bad files are refused with a message that says why") {
  std::vector<uint8_t> good = raw_file({entry("w", fb::DType::F32, {4}, 0, 16)}, 64);
  REQUIRE(load_error(good).empty());

  SUBCASE("empty or tiny") {
    CHECK(load_error({}).find("too small") != std::string::npos);
    CHECK(load_error(std::vector<uint8_t>(63, 0)).find("too small") != std::string::npos);
  }
  SUBCASE("wrong magic") {
    auto b = good;
    b[0] = 'G';
    CHECK(load_error(b).find("bad magic") != std::string::npos);
  }
  SUBCASE("future format version") {
    CHECK(load_error(raw_file({entry("w", fb::DType::F32, {4}, 0, 16)}, 64, kFormatVersion + 1))
              .find("format version 2 is not supported") != std::string::npos);
  }
  SUBCASE("truncated") {
    auto b = good;
    b.resize(b.size() - 1);
    CHECK(load_error(b).find("truncated") != std::string::npos);
  }
  SUBCASE("tensor out of bounds") {
    CHECK(load_error(raw_file({entry("w", fb::DType::F32, {4}, 64, 16)}, 64)).find("outside the data section") !=
          std::string::npos);
  }
  SUBCASE("misaligned tensor") {
    CHECK(load_error(raw_file({entry("w", fb::DType::F32, {4}, 4, 16)}, 64)).find("aligned") != std::string::npos);
  }
  SUBCASE("overlapping tensors") {
    CHECK(load_error(raw_file({entry("w", fb::DType::F32, {32}, 0, 128), entry("v", fb::DType::F32, {4}, 64, 16)},
                              192))
              .find("overlap") != std::string::npos);
  }
  SUBCASE("wrong byte size") {
    CHECK(load_error(raw_file({entry("w", fb::DType::F32, {4}, 0, 12)}, 64)).find("needs 16") != std::string::npos);
  }
  SUBCASE("unknown dtype") {
    CHECK(load_error(raw_file({entry("w", static_cast<fb::DType>(42), {4}, 0, 16)}, 64)).find("unknown dtype 42") !=
          std::string::npos);
  }
  SUBCASE("block type with a last dimension not a multiple of 32") {
    CHECK(load_error(raw_file({entry("w", fb::DType::Q8_0, {2, 20}, 0, 44)}, 64)).find("cannot be stored as q8_0") !=
          std::string::npos);
  }
  SUBCASE("duplicate names") {
    CHECK(load_error(raw_file({entry("w", fb::DType::F32, {4}, 0, 16), entry("w", fb::DType::F32, {4}, 64, 16)},
                              128))
              .find("appears twice") != std::string::npos);
  }
  SUBCASE("negative dimension") {
    CHECK(load_error(raw_file({entry("w", fb::DType::F32, {-4}, 0, 16)}, 64)).find("cannot be stored") !=
          std::string::npos);
  }
}

TEST_CASE("random corruption never crashes the reader") {
  std::vector<float> a(256, 1.f);
  const std::string path = temp_path("fuzz.hmoe");
  write_model_file(path, small_model_header(), {{"a", DType::F32, {16, 16}, a.data(), 1024}});
  const std::vector<uint8_t> good = read_all(path);
  std::remove(path.c_str());
  std::mt19937 rng(1234);
  int refused = 0;
  const size_t header_end = 64 + 1024;  // the prefix and header are what the reader interprets
  for (int i = 0; i < 3000; ++i) {
    auto b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int j = 0; j < flips; ++j) b[rng() % std::min(header_end, b.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
    if (rng() % 5 == 0) b.resize(rng() % b.size());
    if (!load_error(b).empty()) ++refused;
  }
  CHECK(refused > 0);  // and, above all, no crash (run under ASan in the sanitizer job)
}
