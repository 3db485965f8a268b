#include "runtime/model/hyper_cache.h"

#include <stdexcept>
#include <string>

#include "runtime/model/selection_pattern.h"

namespace hmoe {

HyperCache::HyperCache(const HParams& hp, const ModelWeights& w, uint64_t budget_bytes)
    : hp_(hp), w_(w), budget_(budget_bytes) {
  per_layer_ = binomial(hp.n_experts, hp.top_k);
  entry_bytes_ = hyper_expert_bytes(hp);
  baked_ = w.hyper_baked;
  if (baked_) return;
  if (budget_ < entry_bytes_)
    throw std::invalid_argument("HyperExpert cache budget of " + std::to_string(budget_) +
                                " bytes cannot hold one HyperExpert (" + std::to_string(entry_bytes_) +
                                " bytes for n_embd " + std::to_string(hp.n_embd) + ", adapter_dim " +
                                std::to_string(hp.adapter_dim) + ")");
  const uint64_t total_entries = per_layer_ * static_cast<uint64_t>(hp.n_layer);
  const bool fits = per_layer_ != UINT64_MAX && total_entries / hp.n_layer == per_layer_ &&
                    total_entries <= budget_ / entry_bytes_;
  if (!fits) return;
  precomputed_ = true;
  table_.resize(total_entries);
  // Parallel over patterns; the kernels inside run on one thread each (no nesting).
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < static_cast<int64_t>(total_entries); ++i) {
    std::vector<int32_t> experts(hp.top_k);
    pattern_experts(static_cast<uint64_t>(i) % per_layer_, hp.n_experts, hp.top_k, experts.data());
    table_[i] = generate(static_cast<int64_t>(static_cast<uint64_t>(i) / per_layer_), experts.data());
  }
  bytes_ = total_entries * entry_bytes_;
}

std::shared_ptr<const HyperExpert> HyperCache::generate(int64_t layer, const int32_t* experts) const {
  auto he = std::make_shared<HyperExpert>();
  std::vector<float> scratch;
  generate_hyper_expert(hp_, w_, layer, experts, he.get(), &scratch);
  return he;
}

HyperHandle HyperCache::lookup(int64_t layer, const int32_t* experts) {
  const uint64_t p = pattern_index(experts, hp_.top_k);
  HyperHandle h;
  if (baked_) {
    const BakedHyperTables& t = w_.layers[layer].baked;
    const int64_t C = static_cast<int64_t>(per_layer_), b = hp_.adapter_dim, d = hp_.n_embd;
    h.view.down = t.down.slice(static_cast<int64_t>(p), C);
    h.view.down_bias = t.down_bias + p * b;
    h.view.up = t.up.slice(static_cast<int64_t>(p), C);
    h.view.up_bias = t.up_bias + p * d;
    hits_.fetch_add(1, std::memory_order_relaxed);
    return h;
  }
  if (precomputed_) {
    h.keep = table_[static_cast<uint64_t>(layer) * per_layer_ + p];
    h.view = h.keep->view();
    hits_.fetch_add(1, std::memory_order_relaxed);
    return h;
  }
  const uint64_t key = static_cast<uint64_t>(layer) * per_layer_ + p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru_pos);
      h.keep = it->second.he;
      h.view = h.keep->view();
      hits_.fetch_add(1, std::memory_order_relaxed);
      return h;
    }
  }
  // Generate outside the lock so other sessions keep hitting the cache meanwhile.
  std::shared_ptr<const HyperExpert> fresh = generate(layer, experts);
  misses_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {  // another thread generated it first: use the same entry
    h.keep = it->second.he;
  } else {
    while (!lru_.empty() && bytes_ + entry_bytes_ > budget_) {
      const uint64_t victim = lru_.back();
      lru_.pop_back();
      map_.erase(victim);
      bytes_ -= entry_bytes_;
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    lru_.push_front(key);
    map_.emplace(key, Entry{fresh, lru_.begin()});
    bytes_ += entry_bytes_;
    h.keep = fresh;
  }
  h.view = h.keep->view();
  return h;
}

HyperCacheStats HyperCache::stats() const {
  HyperCacheStats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.evictions = evictions_.load();
  s.budget_bytes = budget_;
  s.patterns_per_layer = per_layer_;
  s.precomputed = precomputed_;
  s.baked = baked_;
  std::lock_guard<std::mutex> lock(mu_);
  s.bytes = bytes_;
  s.entries = precomputed_ ? table_.size() : map_.size();
  return s;
}

}  // namespace hmoe
