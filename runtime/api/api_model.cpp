// Loading models and reading what they are: info, metadata, HyperExpert cache stats.
#include <chrono>
#include <cstring>
#include <string>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"
#include "runtime/model/arch.h"
#include "runtime/text/model_tokenizer.h"

using hmoe::api::ApiError;
using hmoe::api::guarded;
using hmoe::api::require;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kMaxCacheMb = int64_t(1) << 30;

hmoe::ModelOptions model_options_from(const hmoe_model_params& p) {
  if (p.hyper_cache_mb < 0 || p.hyper_cache_mb > kMaxCacheMb)
    throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "hyper_cache_mb is " + std::to_string(p.hyper_cache_mb) +
                                                  ", outside [0, " + std::to_string(kMaxCacheMb) + "]");
  hmoe::api::check_threads(p.n_threads, "n_threads");
  hmoe::ModelOptions o;
  o.hyper_cache_bytes = static_cast<uint64_t>(p.hyper_cache_mb) << 20;
  o.n_threads = p.n_threads;
  o.hyper_precompute = hmoe::api::bool_field(p.hyper_precompute, "hyper_precompute");
  return o;
}

// The handle of a loaded model: the whole model, or with vocab_only its file alone.
// Bad tokenizer data is a bad file (TokenizerError says so).
template <class OpenFile, class LoadModel>
hmoe_model* load(const hmoe_model_params* params, OpenFile open_file, LoadModel load_model) {
  const auto started = Clock::now();
  hmoe_model_params p;
  hmoe::api::read_params(params, hmoe_model_default_params, &p);
  const bool vocab_only = hmoe::api::bool_field(p.vocab_only, "vocab_only");
  const hmoe::ModelOptions options = model_options_from(p);
  auto handle = std::make_unique<hmoe_model>();
  if (vocab_only) {
    handle->vocab_file = open_file();
    handle->hparams = handle->vocab_file->header().hparams;  // as the header says: nothing runs
  } else {
    handle->model = load_model(options);
    handle->hparams = handle->model->hparams();
    if (const hmoe::HyperCache* cache = handle->model->hyper_cache())
      handle->hyper_fill_seconds = cache->stats().fill_seconds;
  }
  handle->tokenizer = hmoe::text::load_model_tokenizer(handle->file());
  handle->load_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return handle.release();
}

}  // namespace

extern "C" {

hmoe_status hmoe_model_load(const char* path, const hmoe_model_params* params, hmoe_model** out_model) {
  return guarded(__func__, [&] {
    require(out_model, "out_model");
    require(path, "path");
    // The core refuses what is not a regular file without opening it (HMOE_ERR_IO), and
    // tells a path it cannot read (IO) from a file that is not a model (BAD_FILE).
    *out_model = load(
        params, [&] { return hmoe::ModelFile::open(path); },
        [&](const hmoe::ModelOptions& o) { return hmoe::Model::load(path, o); });
  });
}

hmoe_status hmoe_model_load_from_memory(const void* data, size_t size, const hmoe_model_params* params,
                                        hmoe_model** out_model) {
  return guarded(__func__, [&] {
    require(out_model, "out_model");
    require(data, "data");
    *out_model = load(
        params, [&] { return hmoe::ModelFile::from_memory(data, size); },
        [&](const hmoe::ModelOptions& o) { return hmoe::Model::load_from_memory(data, size, o); });
  });
}

void hmoe_model_free(hmoe_model* model) { delete model; }

hmoe_status hmoe_model_get_info(const hmoe_model* model, hmoe_model_info* out_info) {
  return guarded(__func__, [&] {
    require(model, "model");
    require(out_info, "out_info");
    const hmoe::HParams& hp = model->hparams;
    hmoe_model_info i{};
    i.n_vocab = static_cast<int32_t>(hp.vocab_size);
    i.n_ctx_train = static_cast<int32_t>(hp.n_positions);
    i.n_embd = static_cast<int32_t>(hp.n_embd);
    i.n_layer = static_cast<int32_t>(hp.n_layer);
    i.n_head = static_cast<int32_t>(hp.n_head);
    i.n_experts = static_cast<int32_t>(hp.n_experts);
    i.top_k = static_cast<int32_t>(hp.top_k);
    i.use_hypernet = hp.use_hypernet;
    i.hyper_baked = model->file().header().hyper_baked;
    i.has_tokenizer = model->tokenizer != nullptr;
    i.eos_id = model->tokenizer ? model->tokenizer->eos_id() : -1;
    i.bos_id = model->tokenizer ? model->tokenizer->bos_id() : -1;
    i.file_size = model->file().file_size();
    const hmoe::ArchSpec& arch = hmoe::arch_spec(model->file().header().arch);
    i.encoder_decoder = arch.encoder_decoder();
    i.n_decoder_layer = i.encoder_decoder ? static_cast<int32_t>(hp.n_decoder_layer) : 0;
    i.decoder_start_id = i.encoder_decoder ? static_cast<int32_t>(hp.decoder_start_token_id) : -1;
    *out_info = i;
  });
}

const char* hmoe_model_architecture(const hmoe_model* model) {
  if (!model) return nullptr;
  // The file was checked at load: its architecture is one this build knows.
  return hmoe::arch_spec(model->file().header().arch).name();
}

hmoe_status hmoe_model_get_hparam(const hmoe_model* model, size_t index, const char** out_name, double* out_value) {
  return guarded(__func__, [&] {
    require(model, "model");
    const std::vector<std::string> names = hmoe::arch_spec(model->file().header().arch).hparam_names();
    if (index >= names.size())
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "index " + std::to_string(index) + " is past the " +
                                                    std::to_string(names.size()) + " hyper-parameters");
    const hmoe::HParamField* f = hmoe::find_hparam(names[index]);
    if (out_name) *out_name = f->name;
    if (out_value) *out_value = f->get(model->hparams);
  });
}

hmoe_status hmoe_model_get_metadata(const hmoe_model* model, const char* key, char* buf, size_t capacity,
                                    size_t* out_len) {
  return guarded(__func__, [&] {
    require(model, "model");
    require(key, "key");
    if (capacity > 0) require(buf, "buf");
    const hmoe::ModelHeader& header = model->file().header();
    if (!header.has_metadata(key)) throw ApiError(HMOE_ERR_INVALID_ARGUMENT, std::string("no metadata key '") + key + "'");
    const std::string value = header.metadata_value(key);
    if (out_len) *out_len = value.size();
    if (capacity < value.size() + 1)
      throw ApiError(HMOE_ERR_BUFFER_TOO_SMALL, "metadata '" + std::string(key) + "' needs " +
                                                    std::to_string(value.size() + 1) + " bytes, the buffer holds " +
                                                    std::to_string(capacity));
    std::memcpy(buf, value.c_str(), value.size() + 1);
  });
}

hmoe_status hmoe_model_get_hyper_cache_stats(const hmoe_model* model, hmoe_hyper_cache_stats* out_stats) {
  return guarded(__func__, [&] {
    require(model, "model");
    require(out_stats, "out_stats");
    hmoe_hyper_cache_stats s{};
    s.mode = HMOE_HYPER_CACHE_NONE;
    if (const hmoe::HyperCache* cache = model->model ? model->model->hyper_cache() : nullptr) {
      const hmoe::HyperCacheStats c = cache->stats();
      switch (c.mode) {
        case hmoe::HyperCacheMode::Baked: s.mode = HMOE_HYPER_CACHE_BAKED; break;
        case hmoe::HyperCacheMode::Precomputed: s.mode = HMOE_HYPER_CACHE_PRECOMPUTED; break;
        case hmoe::HyperCacheMode::OnDemand: s.mode = HMOE_HYPER_CACHE_ON_DEMAND; break;
      }
      s.hits = c.hits;
      s.misses = c.misses;
      s.evictions = c.evictions;
      s.entries = c.entries;
      s.bytes = c.bytes;
      s.budget_bytes = c.budget_bytes;
      s.entry_bytes = c.entry_bytes;
      s.capacity_entries = c.capacity_entries;
      s.patterns_per_layer = c.patterns_per_layer;
    }
    *out_stats = s;
  });
}

hmoe_status hmoe_model_get_load_stats(const hmoe_model* model, hmoe_model_load_stats* out_stats) {
  return guarded(__func__, [&] {
    require(model, "model");
    require(out_stats, "out_stats");
    hmoe_model_load_stats s{};
    s.load_seconds = model->load_seconds;
    s.hyper_fill_seconds = model->hyper_fill_seconds;
    *out_stats = s;
  });
}

}  // extern "C"
