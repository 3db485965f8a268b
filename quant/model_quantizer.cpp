#include "quant/model_quantizer.h"

#include <sys/stat.h>

#include <memory>
#include <stdexcept>

#include "formats/model_file.h"
#include "formats/model_writer.h"
#include "quant/block_formats.h"
#include "quant/tool_version.h"

namespace hmoe::quant {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_vector_tensor(const std::string& name, const std::vector<int64_t>& shape) {
  return shape.size() < 2 || ends_with(name, "bias") || glob_match("blk.*.hyper.expert_embd", name) ||
         name == "hyper.layer_embd";
}

const char* const kDefaultKeepF32[] = {"blk.*.moe.gate", "pos_embd"};

// The tied token embedding / LM head: q8_0 in block-type files (rule 3).
DType default_tok_embd_dtype(DType target) { return dtype_is_quantized(target) ? DType::Q8_0 : DType::F32; }

std::string rules_text(const std::vector<QuantizeRule>& rules) {
  std::string s;
  for (const auto& r : rules) s += (s.empty() ? "" : " ") + r.pattern + "=" + dtype_name(r.dtype);
  return s;
}

void set_metadata(fb::ModelT& h, const std::string& key, const std::string& value) {
  for (auto& kv : h.metadata)
    if (kv->key == key) {
      kv->value = value;
      return;
    }
  auto kv = std::make_unique<fb::KeyValueT>();
  kv->key = key;
  kv->value = value;
  h.metadata.push_back(std::move(kv));
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
    throw std::invalid_argument("rule '" + text + "' is not PATTERN=TYPE");
  QuantizeRule r;
  r.pattern = text.substr(0, eq);
  const std::string type = text.substr(eq + 1);
  if (!dtype_from_name(type, &r.dtype) || r.dtype == DType::I32)
    throw std::invalid_argument("rule '" + text + "': unknown type '" + type + "' (f32, f16, bf16, q8, q4)");
  return r;
}

TensorPlan plan_tensor(const std::string& name, const std::vector<int64_t>& shape, DType source,
                       const QuantizeOptions& o) {
  if (source == DType::I32) return {DType::I32, "integer"};
  if (is_vector_tensor(name, shape)) return {DType::F32, "vector"};
  TensorPlan plan{o.type, ""};
  bool decided = false;
  for (const auto& r : o.rules)
    if (glob_match(r.pattern, name)) {
      plan = {r.dtype, "rule " + r.pattern};
      decided = true;
      break;
    }
  if (!decided && name == "tok_embd") {
    const DType t = default_tok_embd_dtype(o.type);
    plan = {t, t == DType::F32 ? "kept by default" : "tied LM head: q8_0 by default"};
    decided = true;
  }
  if (!decided)
    for (const char* pat : kDefaultKeepF32)
      if (glob_match(pat, name)) {
        plan = {DType::F32, "kept by default"};
        break;
      }
  if (dtype_is_quantized(plan.dtype) && shape.back() % kQuantBlock != 0)
    return {source, std::string(dtype_name(plan.dtype)) + " needs columns % 32 == 0, has " +
                        std::to_string(shape.back())};
  return plan;
}

QuantizeSummary quantize_model(const std::string& in, const std::string& out, const QuantizeOptions& o) {
  if (o.type == DType::I32) throw std::invalid_argument("i32 is not a weight type");
  if (same_file(in, out)) throw std::invalid_argument("output '" + out + "' is the input file; write a new one");
  const std::unique_ptr<ModelFile> src = ModelFile::open(in);
  std::unique_ptr<fb::ModelT> header(src->header().UnPack());

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

  set_metadata(*header, "quantize.type", dtype_name(o.type));
  set_metadata(*header, "quantize.version", tool_version());
  if (!o.rules.empty()) set_metadata(*header, "quantize.rules", rules_text(o.rules));
  write_model_file(out, *header, blobs, [&](size_t i, size_t n) {
    if (o.progress) o.progress(0.9 + 0.1 * i / n, "writing " + blobs[i - 1].name);
  });
  if (o.progress) o.progress(1.0, "done");
  struct stat st {};
  if (stat(out.c_str(), &st) == 0) sum.file_bytes_after = static_cast<uint64_t>(st.st_size);
  return sum;
}

}  // namespace hmoe::quant
