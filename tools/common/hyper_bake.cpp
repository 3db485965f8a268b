#include "tools/common/hyper_bake.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "formats/model_writer.h"
#include "runtime/model/hyper_expert.h"
#include "runtime/model/selection_pattern.h"

namespace hmoe {

namespace {

// Patterns generated per call: bounds the staging entries (~100 MB at GPT-2 dims, f32).
constexpr uint64_t kBakeBatch = 256;

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Copies one lone matrix's encoded bytes (quants then scales) into matrix i of a stacked
// [n, rows, cols] tensor, which stores all n matrices' quants before all their scales.
void put_stacked(DType dt, int64_t rows, int64_t cols, const uint8_t* matrix, uint64_t i, uint64_t n,
                 uint8_t* tensor) {
  const uint64_t total = static_cast<uint64_t>(storage_bytes(dt, {rows, cols}));
  const uint64_t sbytes = dtype_is_quantized(dt) ? static_cast<uint64_t>(rows * (cols / kQuantBlock)) * 2 : 0;
  const uint64_t qbytes = total - sbytes;
  std::memcpy(tensor + i * qbytes, matrix, qbytes);
  if (sbytes) std::memcpy(tensor + n * qbytes + i * sbytes, matrix + qbytes, sbytes);
}

}  // namespace

bool is_hypernetwork_tensor(const std::string& name) {
  if (name.rfind("hyper.", 0) == 0) return true;
  if (name.rfind("blk.", 0) != 0) return false;
  const size_t dot = name.find('.', 4);
  if (dot == std::string::npos) return false;
  const std::string rest = name.substr(dot + 1);
  return rest.rfind("hyper.", 0) == 0 && rest.rfind("hyper.table.", 0) != 0;
}

std::vector<BakedTensor> bake_hyper_tables(const Model& model, DType dtype) {
  const HParams& hp = model.hparams();
  if (!hp.use_hypernet) throw std::invalid_argument("the model is plain MoE: there is no HyperExpert to bake");
  if (!model.has_hypernetwork())
    throw std::invalid_argument("the model is already baked: its hypernetwork tensors are gone");
  const HyperExpertLayout lay = HyperExpertLayout::make(hp.n_embd, hp.adapter_dim, dtype);
  const uint64_t C = binomial(hp.n_experts, hp.top_k);
  const int64_t d = hp.n_embd, b = hp.adapter_dim, k = hp.top_k, Ci = static_cast<int64_t>(C);
  const uint64_t down_bytes = static_cast<uint64_t>(storage_bytes(dtype, {b, d}));
  const uint64_t up_bytes = static_cast<uint64_t>(storage_bytes(dtype, {d, b}));
  // Every table lies in memory until written: refuse sizes that cannot be meant.
  if (C == UINT64_MAX || C > (uint64_t(1) << 40) / (down_bytes + up_bytes) / static_cast<uint64_t>(hp.n_layer))
    throw std::invalid_argument("baking C(" + std::to_string(hp.n_experts) + ", " + std::to_string(k) + ") = " +
                                std::to_string(C) + " patterns per layer is too large to store");

  std::vector<BakedTensor> out;
  std::vector<int32_t> experts(static_cast<size_t>(std::min(C, kBakeBatch) * k));
  const uint64_t batch = std::min(C, kBakeBatch);
  AlignedBytes staging = alloc_aligned(batch * lay.bytes);
  std::vector<uint8_t*> dst(batch);
  for (uint64_t i = 0; i < batch; ++i) dst[i] = staging.get() + i * lay.bytes;
  HyperGenScratch scratch;
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".hyper.table.";
    BakedTensor down{p + "down", dtype, {Ci, b, d}, std::vector<uint8_t>(C * down_bytes)};
    BakedTensor down_bias{p + "down_bias", DType::F32, {Ci, b}, std::vector<uint8_t>(C * b * sizeof(float))};
    BakedTensor up{p + "up", dtype, {Ci, d, b}, std::vector<uint8_t>(C * up_bytes)};
    BakedTensor up_bias{p + "up_bias", DType::F32, {Ci, d}, std::vector<uint8_t>(C * d * sizeof(float))};
    for (uint64_t p0 = 0; p0 < C; p0 += batch) {
      const uint64_t m = std::min(batch, C - p0);
      for (uint64_t i = 0; i < m; ++i) pattern_experts(p0 + i, hp.n_experts, k, experts.data() + i * k);
      generate_hyper_experts(hp, model.weights(), lay, l, experts.data(), static_cast<int64_t>(m), dst.data(),
                             &scratch);
      for (uint64_t i = 0; i < m; ++i) {
        const uint64_t pi = p0 + i;
        put_stacked(dtype, b, d, dst[i] + lay.down, pi, C, down.data.data());
        put_stacked(dtype, d, b, dst[i] + lay.up, pi, C, up.data.data());
        std::memcpy(down_bias.data.data() + pi * b * sizeof(float), dst[i] + lay.down_bias, b * sizeof(float));
        std::memcpy(up_bias.data.data() + pi * d * sizeof(float), dst[i] + lay.up_bias, d * sizeof(float));
      }
    }
    out.push_back(std::move(down));
    out.push_back(std::move(down_bias));
    out.push_back(std::move(up));
    out.push_back(std::move(up_bias));
  }
  return out;
}

std::string BakeSummary::to_string() const {
  const double delta = static_cast<double>(out_bytes) - static_cast<double>(in_bytes);
  char buf[96];
  std::snprintf(buf, sizeof buf, " (%+.1f%%)", in_bytes ? 100.0 * delta / static_cast<double>(in_bytes) : 0.0);
  return "baked " + std::to_string(patterns) + " patterns/layer as " + dtype_name(table_dtype) + ": dropped " +
         mib(dropped_bytes) + " of hypernetwork, added " + mib(added_bytes) + " of tables; file " + mib(in_bytes) +
         " -> " + mib(out_bytes) + buf;
}

BakeSummary write_baked_model(const Model& model, const std::string& out_path,
                              const std::vector<BakedTensor>& tables) {
  const ModelFile& in = model.file();
  const HParams& hp = model.hparams();
  if (!hp.use_hypernet) throw std::invalid_argument("the model is plain MoE: there is no HyperExpert to bake");
  BakeSummary sum;
  sum.in_bytes = in.file_size();
  sum.patterns = binomial(hp.n_experts, hp.top_k);
  sum.table_dtype = tables.empty() ? DType::F32 : tables.front().dtype;

  std::vector<TensorBlob> blobs;
  for (const TensorInfo& t : in.tensors()) {
    if (is_hypernetwork_tensor(t.name)) {
      sum.dropped_bytes += t.size;
      continue;
    }
    blobs.push_back({t.name, t.dtype, t.shape, t.data, t.size});
  }
  for (const BakedTensor& t : tables) {
    blobs.push_back({t.name, t.dtype, t.shape, t.data.data(), t.data.size()});
    sum.added_bytes += t.data.size();
  }
  ModelHeader header = in.header();
  header.hyper_baked = true;
  write_model_file(out_path, header, blobs);
  std::FILE* f = std::fopen(out_path.c_str(), "rb");
  if (f) {
    std::fseek(f, 0, SEEK_END);
    sum.out_bytes = static_cast<uint64_t>(std::ftell(f));
    std::fclose(f);
  }
  return sum;
}

BakeSummary write_baked_model(const Model& model, const std::string& out_path, DType table_dtype) {
  return write_baked_model(model, out_path, bake_hyper_tables(model, table_dtype));
}

BakeSummary bake_model_file(const std::string& source_path, const std::string& target_path,
                            const std::string& out_path) {
  ModelOptions o;
  o.hyper_precompute = false;  // the cache is not used: tables are generated directly
  std::shared_ptr<const Model> source = Model::load(source_path, o);
  std::shared_ptr<const Model> target = target_path == source_path ? source : Model::load(target_path, o);
  const HParams &a = source->hparams(), &b = target->hparams();
  if (a.n_embd != b.n_embd || a.n_layer != b.n_layer || a.n_experts != b.n_experts || a.top_k != b.top_k ||
      a.adapter_dim != b.adapter_dim || a.use_hypernet != b.use_hypernet)
    throw std::invalid_argument("'" + target_path + "' does not have the dims of '" + source_path + "'");
  const DType dtype = hyper_table_dtype(b, target->weights());
  return write_baked_model(*target, out_path, bake_hyper_tables(*source, dtype));
}

}  // namespace hmoe
