#include "runtime/model/model.h"

#include <stdexcept>

#include "runtime/kernels/threads.h"
#include "runtime/model/weight_check.h"

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
  kernels::resolve_threads(opts.n_threads, "n_threads");  // refuses a count outside [0, kMaxThreads]
  std::shared_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  m->hp_ = hparams_from_file(*m->file_);
  m->arch_ = &arch_spec(m->file_->header().arch);
  m->w_ = m->arch_->new_weights(m->hp_);
  bind_weights(*m->file_, *m->arch_, m->hp_, *m->w_);
  if (opts.check_weights) check_weights_finite(*m->file_);  // before the cache computes with them
  if (!m->w_->hyper_slots.empty()) {
    const kernels::ThreadScope threads(opts.n_threads);  // the default, at most the processors
    HyperCacheOptions co;
    co.budget_bytes = opts.hyper_cache_bytes;
    co.precompute = opts.hyper_precompute;
    m->cache_ = std::make_unique<HyperCache>(*m->w_, co);
  }
  return m;
}

}  // namespace hmoe
