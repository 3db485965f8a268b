// A loaded model: the mapped file, its checked hyper-parameters and weight views, and
// the shared HyperExpert cache. Immutable after load except for the cache, which is
// thread-safe, so any number of sessions may share one model.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "formats/model_file.h"
#include "runtime/model/arch.h"
#include "runtime/model/hparams.h"
#include "runtime/model/hyper/hyper_cache.h"
#include "runtime/model/weights.h"

namespace hmoe {

struct ModelOptions {
  // Memory the HyperExpert cache may hold. When all patterns of all layers fit, they
  // are generated at load; otherwise on demand with LRU eviction.
  uint64_t hyper_cache_bytes = 256ull << 20;
  // false: fill the cache on demand even when every pattern fits (for tests and bench).
  bool hyper_precompute = true;
  // Threads used to fill the cache at load (0: the default, runtime/kernels/threads.h).
  int n_threads = 0;
  // Refuse a file holding NaN or infinite weights (FormatError naming the tensor and the
  // element; runtime/model/weight_check.h says why). Costs one read of every weight.
  bool check_weights = true;
};

class Model {
 public:
  // Throws IoError (cannot read the path), FormatError (bad file) or hmoe::Error /
  // std::invalid_argument (bad options). A bad file
  // includes one whose HyperExperts, generated at load when the cache holds them all,
  // overflow the cache's dtype (generate_hyper_experts).
  static std::shared_ptr<const Model> load(const std::string& path, const ModelOptions& opts = {});
  static std::shared_ptr<const Model> load_from_memory(const void* data, size_t size,
                                                       const ModelOptions& opts = {});

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const HParams& hparams() const { return hp_; }
  const ArchSpec& arch() const { return *arch_; }
  // What every architecture's weights share (the HyperExpert slots, baked or not).
  const ModelWeightsBase& weights() const { return *w_; }
  // The architecture's own weights struct (its graph knows which).
  template <class W>
  const W& weights_as() const {
    return static_cast<const W&>(*w_);
  }
  const ModelFile& file() const { return *file_; }
  // nullptr for plain MoE models.
  HyperCache* hyper_cache() const { return cache_.get(); }
  // True when the per-token path can run (the hypernetwork tensors are present).
  bool has_hypernetwork() const { return hp_.use_hypernet && !w_->hyper_baked; }

 private:
  Model() = default;
  static std::shared_ptr<const Model> finish(std::unique_ptr<ModelFile> file, const ModelOptions& opts);

  std::unique_ptr<ModelFile> file_;
  HParams hp_;
  const ArchSpec* arch_ = nullptr;
  std::unique_ptr<ModelWeightsBase> w_;
  std::unique_ptr<HyperCache> cache_;
};

}  // namespace hmoe
