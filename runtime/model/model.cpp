#include "runtime/model/model.h"

#include <omp.h>

#include <stdexcept>

#include "runtime/model/weight_check.h"
#include "runtime/model/weight_packing.h"

namespace hmoe {

Model::~Model() {
  // Kernel-side copies of these weights must not outlive the mapping (nor be found
  // again by a later model mapped at the same address).
  if (file_) kernels::forget_cached_weights(file_->bytes(), file_->file_size());
}

std::shared_ptr<const Model> Model::load(const std::string& path, const ModelOptions& opts) {
  return finish(ModelFile::open(path), opts);
}

std::shared_ptr<const Model> Model::load_from_memory(const void* data, size_t size, const ModelOptions& opts) {
  return finish(ModelFile::from_memory(data, size), opts);
}

std::shared_ptr<const Model> Model::finish(std::unique_ptr<ModelFile> file, const ModelOptions& opts) {
  if (opts.n_threads < 0 || opts.n_threads > 4096)
    throw std::invalid_argument("n_threads " + std::to_string(opts.n_threads) + " is outside [0, 4096]");
  std::shared_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  m->hp_ = HParams::from_file(*m->file_);
  m->w_ = ModelWeights::from_file(*m->file_, m->hp_);
  if (opts.check_weights) check_weights_finite(*m->file_);  // before the cache computes with them
  pack_model_weights(m->w_, m->hp_, *m->file_, m->packed_);
  if (m->hp_.use_hypernet) {
    const int prev = omp_get_max_threads();
    if (opts.n_threads > 0) omp_set_num_threads(opts.n_threads);
    try {
      HyperCacheOptions co;
      co.budget_bytes = opts.hyper_cache_bytes;
      co.precompute = opts.hyper_precompute;
      m->cache_ = std::make_unique<HyperCache>(m->hp_, m->w_, co);
    } catch (...) {
      omp_set_num_threads(prev);
      throw;
    }
    omp_set_num_threads(prev);
  }
  return m;
}

}  // namespace hmoe
