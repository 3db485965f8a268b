// Loading models and reading what they are: info, metadata, HyperExpert cache stats.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"
#include "runtime/text/model_tokenizer.h"

using hmoe::api::ApiError;
using hmoe::api::guarded;
using hmoe::api::require;

namespace {

constexpr int64_t kMaxCacheMb = int64_t(1) << 30;

hmoe::ModelOptions model_options_from(const hmoe_model_params* params) {
  hmoe_model_params p;
  hmoe::api::read_params(params, hmoe_model_default_params, &p);
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

// Distinguishes "cannot read this path" (HMOE_ERR_IO) from "this is not a model"
// (HMOE_ERR_BAD_FILE), which the reader reports alike. stat() comes first so that a
// FIFO or a device is refused without opening it (opening a FIFO blocks).
void check_readable(const char* path) {
  struct stat st {};
  if (::stat(path, &st) != 0)
    throw ApiError(HMOE_ERR_IO, std::string("cannot open '") + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw ApiError(HMOE_ERR_IO, std::string("'") + path + "' is not a regular file");
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ApiError(HMOE_ERR_IO, std::string("cannot open '") + path + "': " + std::strerror(errno));
  ::close(fd);
}

hmoe_model* wrap(std::shared_ptr<const hmoe::Model> model) {
  auto handle = std::make_unique<hmoe_model>();
  try {
    handle->tokenizer = hmoe::text::load_model_tokenizer(model->file());
  } catch (const hmoe::text::TokenizerError& e) {
    throw ApiError(HMOE_ERR_BAD_FILE, e.what());  // bad tokenizer data is a bad file
  }
  handle->model = std::move(model);
  return handle.release();
}

}  // namespace

extern "C" {

hmoe_status hmoe_model_load(const char* path, const hmoe_model_params* params, hmoe_model** out_model) {
  return guarded(__func__, [&] {
    require(out_model, "out_model");
    require(path, "path");
    const hmoe::ModelOptions options = model_options_from(params);
    check_readable(path);
    *out_model = wrap(hmoe::Model::load(path, options));
  });
}

hmoe_status hmoe_model_load_from_memory(const void* data, size_t size, const hmoe_model_params* params,
                                        hmoe_model** out_model) {
  return guarded(__func__, [&] {
    require(out_model, "out_model");
    require(data, "data");
    const hmoe::ModelOptions options = model_options_from(params);
    *out_model = wrap(hmoe::Model::load_from_memory(data, size, options));
  });
}

void hmoe_model_free(hmoe_model* model) { delete model; }

hmoe_status hmoe_model_get_info(const hmoe_model* model, hmoe_model_info* out_info) {
  return guarded(__func__, [&] {
    require(model, "model");
    require(out_info, "out_info");
    const hmoe::HParams& hp = model->model->hparams();
    hmoe_model_info i{};
    i.n_vocab = static_cast<int32_t>(hp.vocab_size);
    i.n_ctx_train = static_cast<int32_t>(hp.n_positions);
    i.n_embd = static_cast<int32_t>(hp.n_embd);
    i.n_layer = static_cast<int32_t>(hp.n_layer);
    i.n_head = static_cast<int32_t>(hp.n_head);
    i.n_experts = static_cast<int32_t>(hp.n_experts);
    i.top_k = static_cast<int32_t>(hp.top_k);
    i.use_hypernet = hp.use_hypernet;
    i.hyper_baked = model->model->weights().hyper_baked;
    i.has_tokenizer = model->tokenizer != nullptr;
    i.eos_id = model->tokenizer ? model->tokenizer->eos_id() : -1;
    i.bos_id = model->tokenizer ? model->tokenizer->bos_id() : -1;
    i.file_size = model->model->file().file_size();
    *out_info = i;
  });
}

hmoe_status hmoe_model_get_metadata(const hmoe_model* model, const char* key, char* buf, size_t capacity,
                                    size_t* out_len) {
  return guarded(__func__, [&] {
    require(model, "model");
    require(key, "key");
    if (capacity > 0) require(buf, "buf");
    const hmoe::ModelHeader& header = model->model->file().header();
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
    if (const hmoe::HyperCache* cache = model->model->hyper_cache()) {
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

}  // extern "C"
