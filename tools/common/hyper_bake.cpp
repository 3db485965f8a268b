#include "tools/common/hyper_bake.h"

#include <cstdio>
#include <cstring>
#include <set>
#include <stdexcept>

#include "formats/model_writer.h"
#include "runtime/model/arch.h"
#include "runtime/model/hyper/hyper_expert.h"
#include "runtime/model/hyper/selection_pattern.h"

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

std::vector<BakedTensor> bake_hyper_tables(const Model& model, DType dtype) {
  const HParams& hp = model.hparams();
  if (!hp.use_hypernet) throw std::invalid_argument("the model is plain MoE: there is no HyperExpert to bake");
  if (!model.has_hypernetwork())
    throw std::invalid_argument("the model is already baked: its hypernetwork tensors are gone");
  const ModelWeightsBase& w = model.weights();
  const HyperDims& dims = w.hyper_dims;
  const HyperExpertLayout lay = HyperExpertLayout::make(dims.d, dims.b, dtype);
  const uint64_t C = binomial(dims.n_experts, dims.top_k);
  const int64_t d = dims.d, b = dims.b, k = dims.top_k, Ci = static_cast<int64_t>(C);
  const uint64_t L = w.hyper_slots.size();
  const uint64_t down_bytes = static_cast<uint64_t>(storage_bytes(dtype, {b, d}));
  const uint64_t up_bytes = static_cast<uint64_t>(storage_bytes(dtype, {d, b}));
  // Every table lies in memory until written: refuse sizes that cannot be meant.
  if (C == UINT64_MAX || C > (uint64_t(1) << 40) / (down_bytes + up_bytes) / L)
    throw std::invalid_argument("baking C(" + std::to_string(dims.n_experts) + ", " + std::to_string(k) + ") = " +
                                std::to_string(C) + " patterns per layer is too large to store");
  // The architecture names the tables: per slot, in slot order, down, down_bias, up, up_bias.
  std::vector<TensorDecl> names;
  for (const TensorDecl& t : model.arch().tensors(hp, /*baked=*/true))
    if (t.role == TensorRole::HyperTable) names.push_back(t);
  if (names.size() != 4 * L)
    throw std::logic_error(std::string(model.arch().name()) + " declares " + std::to_string(names.size()) +
                           " HyperExpert table tensors for " + std::to_string(L) + " layers");

  std::vector<BakedTensor> out;
  const uint64_t batch = std::min(C, kBakeBatch);
  std::vector<uint64_t> patterns(batch);
  AlignedBytes staging = alloc_aligned(batch * lay.bytes);
  std::vector<uint8_t*> dst(batch);
  for (uint64_t i = 0; i < batch; ++i) dst[i] = staging.get() + i * lay.bytes;
  HyperGenScratch scratch;
  for (uint64_t l = 0; l < L; ++l) {
    const TensorDecl* n = &names[4 * l];
    BakedTensor down{n[0].name, dtype, {Ci, b, d}, std::vector<uint8_t>(C * down_bytes)};
    BakedTensor down_bias{n[1].name, DType::F32, {Ci, b}, std::vector<uint8_t>(C * b * sizeof(float))};
    BakedTensor up{n[2].name, dtype, {Ci, d, b}, std::vector<uint8_t>(C * up_bytes)};
    BakedTensor up_bias{n[3].name, DType::F32, {Ci, d}, std::vector<uint8_t>(C * d * sizeof(float))};
    for (uint64_t p0 = 0; p0 < C; p0 += batch) {
      const uint64_t m = std::min(batch, C - p0);
      for (uint64_t i = 0; i < m; ++i) patterns[i] = p0 + i;
      generate_hyper_experts(dims, w.hyper_slots[l], lay, patterns.data(), static_cast<int64_t>(m), dst.data(),
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

  std::set<std::string> hypernet;
  for (const TensorDecl& t : model.arch().tensors(hp, /*baked=*/false))
    if (t.role == TensorRole::Hypernet) hypernet.insert(t.name);
  std::vector<TensorBlob> blobs;
  for (const TensorInfo& t : in.tensors()) {
    if (hypernet.count(t.name)) {
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
  if (source->arch().id() != target->arch().id() || a.n_embd != b.n_embd || a.n_layer != b.n_layer ||
      a.n_decoder_layer != b.n_decoder_layer || a.n_experts != b.n_experts || a.top_k != b.top_k ||
      a.adapter_dim != b.adapter_dim || a.use_hypernet != b.use_hypernet)
    throw std::invalid_argument("'" + target_path + "' does not have the dims of '" + source_path + "'");
  const DType dtype = hyper_table_dtype(target->weights());
  return write_baked_model(*target, out_path, bake_hyper_tables(*source, dtype));
}

}  // namespace hmoe
