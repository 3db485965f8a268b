#include "quant/model_quantizer.h"

#include <sys/stat.h>

#include <memory>
#include <stdexcept>

#include "formats/atomic_file.h"
#include "formats/error.h"
#include "formats/model_file.h"
#include "formats/model_writer.h"
#include "quant/block_formats.h"
#include "quant/tool_version.h"

namespace hmoe::quant {

namespace {

std::string rules_text(const std::vector<QuantizeRule>& rules) {
  std::string s;
  for (const auto& r : rules) s += (s.empty() ? "" : " ") + r.pattern + "=" + dtype_name(r.dtype);
  return s;
}


bool same_file(const std::string& a, const std::string& b) {
  if (a == b) return true;
  struct stat sa {}, sb {};
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& name) {
  // Iterative wildcard match with backtracking to the last '*'.
  size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

QuantizeRule parse_quantize_rule(const std::string& text) {
  const size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw Error(Status::InvalidArgument, "rule '" + text + "' is not PATTERN=TYPE");
  QuantizeRule r;
  r.pattern = text.substr(0, eq);
  const std::string type = text.substr(eq + 1);
  if (!dtype_from_name(type, &r.dtype) || r.dtype == DType::I32)
    throw Error(Status::InvalidArgument, "rule '" + text + "': unknown type '" + type + "' (f32, f16, bf16, q8, q4)");
  return r;
}

TensorPlan plan_tensor(const std::string& name, const std::vector<int64_t>& shape, DType source,
                       const QuantizeOptions& o) {
  if (source == DType::I32) return {DType::I32, "integer"};
  if (!o.classify) throw std::invalid_argument("quantizing needs the class of every tensor (QuantizeOptions::classify)");
  const TensorClass cls = o.classify(name);
  if (cls == TensorClass::Vector || shape.size() < 2) return {DType::F32, "vector"};
  TensorPlan plan{o.type, ""};
  bool decided = false;
  for (const auto& r : o.rules)
    if (glob_match(r.pattern, name)) {
      plan = {r.dtype, "rule " + r.pattern};
      decided = true;
      break;
    }
  if (!decided && cls == TensorClass::KeepF32) plan = {DType::F32, "kept by default"};
  if (dtype_is_quantized(plan.dtype) && shape.back() % kQuantBlock != 0)
    return {source, std::string(dtype_name(plan.dtype)) + " needs columns % 32 == 0, has " +
                        std::to_string(shape.back())};
  return plan;
}

QuantizeSummary quantize_model(const std::string& in, const std::string& out_path, const QuantizeOptions& o) {
  if (same_file(in, out_path))
    throw Error(Status::InvalidArgument, "output '" + out_path + "' is the input file; write a new one");
  AtomicFile out(out_path);  // checks the destination before any work
  QuantizeSummary sum = quantize_model(in, out, o);
  out.commit();
  sum.file_bytes_after = out.size();
  return sum;
}

QuantizeSummary quantize_model(const std::string& in, AtomicFile& out, const QuantizeOptions& o) {
  if (o.type == DType::I32) throw Error(Status::InvalidArgument, "i32 is not a weight type");
  if (same_file(in, out.path()))
    throw Error(Status::InvalidArgument, "output '" + out.path() + "' is the input file; write a new one");
  const std::unique_ptr<ModelFile> src = ModelFile::open(in);
  ModelHeader header = src->header();

  QuantizeSummary sum;
  sum.file_bytes_before = src->file_size();
  uint64_t total = 0, done = 0;
  for (const TensorInfo& t : src->tensors()) total += t.size;

  std::vector<TensorBlob> blobs;
  std::vector<std::vector<uint8_t>> owned;  // converted tensors (the rest point into `src`)
  owned.reserve(src->tensors().size());
  std::vector<float> f32;
  for (const TensorInfo& t : src->tensors()) {
    if (o.progress) o.progress(total ? 0.9 * done / total : 0.0, "converting " + t.name);
    const TensorPlan plan = plan_tensor(t.name, t.shape, t.dtype, o);
    TensorBlob b{t.name, plan.dtype, t.shape, t.data, t.size};
    if (plan.dtype != t.dtype) {
      // Matrix view of the tensor: rows = product of the leading dimensions.
      const int64_t cols = t.shape.empty() ? 1 : t.shape.back();
      const int64_t rows = cols ? t.numel() / cols : 0;
      f32.resize(t.numel());
      decode_matrix(t.dtype, t.data, rows, cols, f32.data());
      owned.emplace_back(storage_bytes(plan.dtype, t.shape));
      try {
        encode_matrix(plan.dtype, f32.data(), rows, cols, owned.back().data());
      } catch (const EncodeError& e) {
        throw EncodeError("tensor '" + t.name + "': " + e.what());
      }
      b.data = owned.back().data();
      b.size = owned.back().size();
    }
    sum.tensor_bytes_before += t.size;
    sum.tensor_bytes_after += b.size;
    sum.tensors.push_back({t.name, t.shape, t.dtype, plan.dtype, plan.reason});
    blobs.push_back(std::move(b));
    done += t.size;
  }

  header.set_metadata("quantize.type", dtype_name(o.type));
  header.set_metadata("quantize.version", tool_version());
  if (!o.rules.empty()) header.set_metadata("quantize.rules", rules_text(o.rules));
  sum.file_bytes_after = write_model_data(out, header, blobs, [&](size_t i, size_t n) {
                           if (o.progress) o.progress(0.9 + 0.1 * i / n, "writing " + blobs[i - 1].name);
                         }).file_size;
  if (o.progress) o.progress(1.0, "done");
  return sum;
}

}  // namespace hmoe::quant
