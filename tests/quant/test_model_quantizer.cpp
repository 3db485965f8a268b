// The model quantizer on a small synthetic file: which tensors change, the stacked
// planar layout as the kernels read it, metadata, byte-for-byte copies, refusals.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "formats/model_writer.h"
#include "quant/block_formats.h"
#include "quant/model_quantizer.h"
#include "runtime/kernels/linear.h"

using namespace hmoe;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("hmoe-quant-test-" + std::to_string(getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

const std::map<std::string, std::vector<int64_t>> kTensors = {
    {"tok_embd", {10, 64}},
    {"pos_embd", {8, 64}},
    {"blk.0.ln1.weight", {64}},
    {"blk.0.moe.gate", {4, 64}},
    {"blk.0.moe.fc.weight", {4, 96, 64}},
    {"blk.0.moe.fc.bias", {4, 96}},
    {"blk.0.attn.qkv.weight", {192, 64}},
    {"blk.0.hyper.expert_embd", {4, 16}},
    {"hyper.linear1.weight", {16, 40}},  // 40 columns: no block type fits
};

std::map<std::string, std::vector<float>> g_values;

// The classes an architecture's table would give these tensors (tools/common/quantize_classes.h).
quant::TensorClass class_of(const std::string& name) {
  if (name == "blk.0.ln1.weight" || name == "blk.0.moe.fc.bias" || name == "blk.0.hyper.expert_embd")
    return quant::TensorClass::Vector;
  if (name == "tok_embd" || name == "pos_embd" || name == "blk.0.moe.gate") return quant::TensorClass::KeepF32;
  return quant::TensorClass::Matrix;
}

quant::QuantizeOptions options(DType type) {
  quant::QuantizeOptions o;
  o.type = type;
  o.classify = class_of;
  return o;
}

// Writes the synthetic f32 model once per process.
std::string source_model(const TempDir& dir) {
  const std::string path = dir.file("src.hmoe");
  if (fs::exists(path)) return path;
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<TensorBlob> blobs;
  for (const auto& [name, shape] : kTensors) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    auto& v = g_values[name];
    v.resize(n);
    for (auto& x : v) x = nd(rng);
    blobs.push_back({name, DType::F32, shape, v.data(), static_cast<uint64_t>(n * 4)});
  }
  ModelHeader h;
  h.hparams.n_embd = 64;
  h.metadata.emplace_back("general.name", "synthetic");
  write_model_file(path, h, blobs);
  return path;
}

std::map<std::string, DType> dtypes_of(const ModelFile& f) {
  std::map<std::string, DType> m;
  for (const auto& t : f.tensors()) m[t.name] = t.dtype;
  return m;
}

}  // namespace

TEST_CASE("glob patterns and rules") {
  CHECK(quant::glob_match("blk.*.moe.gate", "blk.11.moe.gate"));
  CHECK_FALSE(quant::glob_match("blk.*.moe.gate", "blk.11.moe.gate.x"));
  CHECK(quant::glob_match("*", ""));
  CHECK(quant::glob_match("blk.?.attn.*", "blk.3.attn.qkv.weight"));
  CHECK_FALSE(quant::glob_match("blk.?.attn.*", "blk.10.attn.qkv.weight"));
  CHECK(quant::glob_match("*.weight", "a.b.weight"));
  const auto r = quant::parse_quantize_rule("blk.*.attn.*=f16");
  CHECK(r.pattern == "blk.*.attn.*");
  CHECK(r.dtype == DType::F16);
  CHECK_THROWS_WITH_AS(quant::parse_quantize_rule("x=q3"), doctest::Contains("unknown type 'q3'"), hmoe::Error);
  CHECK_THROWS_AS(quant::parse_quantize_rule("=q8"), hmoe::Error);
}

TEST_CASE("q8 model: matrices quantised, vectors and default-kept tensors f32, layout as the kernels read it") {
  TempDir dir;
  const std::string src = source_model(dir), out = dir.file("q8.hmoe");
  quant::QuantizeOptions o = options(DType::Q8_0);
  double last = -1;
  bool monotonic = true;
  o.progress = [&](double f, const std::string&) {
    monotonic = monotonic && f >= last;
    last = f;
  };
  const auto sum = quant::quantize_model(src, out, o);
  CHECK(monotonic);
  CHECK(last == 1.0);
  CHECK(sum.tensor_bytes_after < sum.tensor_bytes_before);

  const auto f = ModelFile::open(out);
  const auto d = dtypes_of(*f);
  CHECK(d.at("blk.0.moe.fc.weight") == DType::Q8_0);
  CHECK(d.at("blk.0.attn.qkv.weight") == DType::Q8_0);
  for (const char* kept : {"tok_embd", "pos_embd", "blk.0.ln1.weight", "blk.0.moe.gate", "blk.0.moe.fc.bias",
                           "blk.0.hyper.expert_embd", "hyper.linear1.weight"})
    CHECK_MESSAGE(d.at(kept) == DType::F32, kept);
  CHECK(f->metadata("quantize.type") == "q8_0");
  CHECK(f->metadata("general.name") == "synthetic");
  CHECK(!f->metadata("quantize.version").empty());

  // f32 tensors are copied bit for bit.
  const auto& tok = f->get("tok_embd");
  CHECK(std::memcmp(tok.data, g_values["tok_embd"].data(), tok.size) == 0);

  // Expert i of the stacked tensor, through MatrixView::slice, equals expert i encoded
  // on its own: the tensor is planar (all quants, then all scales).
  const auto& fc = f->get("blk.0.moe.fc.weight");
  kernels::MatrixView v;
  v.dtype = fc.dtype;
  v.rows = 96;
  v.cols = 64;
  v.data = fc.data;
  for (int64_t e = 0; e < 4; ++e) {
    const float* w = g_values["blk.0.moe.fc.weight"].data() + e * 96 * 64;
    std::vector<uint8_t> alone(storage_bytes(DType::Q8_0, {96, 64}));
    quant::encode_matrix(DType::Q8_0, w, 96, 64, alone.data());
    std::vector<float> a(64), b(64);
    for (int64_t r = 0; r < 96; ++r) {
      quant::decode_row(DType::Q8_0, alone.data(), 96, 64, r, a.data());
      kernels::dequantize_row(v.slice(e, 4), r, b.data());
      REQUIRE(a == b);
    }
  }
  bool noted = false;
  for (const auto& t : sum.tensors)
    if (t.name == "hyper.linear1.weight") noted = t.reason.find("40") != std::string::npos;
  CHECK(noted);
}

TEST_CASE("--keep rules come first; re-quantising to the same type copies bytes") {
  TempDir dir;
  const std::string src = source_model(dir), a = dir.file("a.hmoe"), b = dir.file("b.hmoe");
  quant::QuantizeOptions o = options(DType::Q4_0);
  o.rules = {quant::parse_quantize_rule("blk.*.attn.*=f16"), quant::parse_quantize_rule("tok_embd=q8"),
             quant::parse_quantize_rule("*.ln1.*=q8")};
  quant::quantize_model(src, a, o);
  auto fa = ModelFile::open(a);
  auto d = dtypes_of(*fa);
  CHECK(d.at("blk.0.attn.qkv.weight") == DType::F16);
  CHECK(d.at("tok_embd") == DType::Q8_0);
  CHECK(d.at("blk.0.moe.fc.weight") == DType::Q4_0);
  CHECK(d.at("blk.0.ln1.weight") == DType::F32);  // vectors stay f32 whatever the rules
  CHECK(fa->metadata("quantize.rules") == "blk.*.attn.*=f16 tok_embd=q8_0 *.ln1.*=q8_0");

  // q4 -> q4: the q4 tensors are copied, not re-encoded (which would lose more).
  quant::QuantizeOptions same = options(DType::Q4_0);
  same.rules = {quant::parse_quantize_rule("blk.*.attn.*=f16"), quant::parse_quantize_rule("tok_embd=q8")};
  quant::quantize_model(a, b, same);
  auto fb2 = ModelFile::open(b);
  for (const auto& t : fa->tensors()) {
    const auto& u = fb2->get(t.name);
    REQUIRE(u.dtype == t.dtype);
    CHECK_MESSAGE(std::memcmp(u.data, t.data, t.size) == 0, t.name);
  }
}

TEST_CASE("refusals: unreadable input, output over the input") {
  TempDir dir;
  const std::string junk = dir.file("junk.hmoe");
  std::ofstream(junk) << "this is not a model";
  quant::QuantizeOptions o = options(DType::Q8_0);
  CHECK_THROWS_WITH_AS(quant::quantize_model(junk, dir.file("o.hmoe"), o), doctest::Contains("junk.hmoe"),
                       FormatError);
  CHECK_FALSE(fs::exists(dir.file("o.hmoe")));
  const std::string src = source_model(dir);
  CHECK_THROWS_WITH_AS(quant::quantize_model(src, src, o), doctest::Contains("is the input file"), hmoe::Error);
}
