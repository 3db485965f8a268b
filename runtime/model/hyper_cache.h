// The per-(layer, selection pattern) HyperExpert cache: the reason this runtime exists.
// The HyperExpert of a token depends only on its layer and the SET of experts it
// selected, so each one is generated once and looked up afterwards.
//
// - Baked files carry the tables: lookups read them in place.
// - When every pattern of every layer fits the byte budget, all are generated at load
//   (in parallel) and lookups never lock.
// - Otherwise entries are generated on first use and evicted least-recently-used to
//   stay within the budget. Entries are reference-counted, so an entry evicted while a
//   session still uses it stays valid until that session lets go.
// Safe for many sessions on many threads sharing one model.
#pragma once
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "runtime/model/hyper_expert.h"

namespace hmoe {

struct HyperCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;       // generated on demand
  uint64_t evictions = 0;
  uint64_t bytes = 0;        // held now
  uint64_t budget_bytes = 0;
  uint64_t entries = 0;
  uint64_t patterns_per_layer = 0;
  bool precomputed = false;  // every pattern generated at load
  bool baked = false;        // tables read from the file
};

struct HyperHandle {
  HyperExpertView view;
  std::shared_ptr<const HyperExpert> keep;  // empty for baked tables
};

class HyperCache {
 public:
  // Throws std::invalid_argument when the budget cannot hold even one HyperExpert.
  HyperCache(const HParams& hp, const ModelWeights& w, uint64_t budget_bytes);

  HyperHandle lookup(int64_t layer, const int32_t* experts);
  HyperCacheStats stats() const;
  bool precomputed() const { return precomputed_; }

 private:
  struct Entry {
    std::shared_ptr<const HyperExpert> he;
    std::list<uint64_t>::iterator lru_pos;
  };
  std::shared_ptr<const HyperExpert> generate(int64_t layer, const int32_t* experts) const;

  const HParams& hp_;
  const ModelWeights& w_;
  uint64_t budget_;
  uint64_t per_layer_;
  uint64_t entry_bytes_;
  bool baked_ = false;
  bool precomputed_ = false;
  std::vector<std::shared_ptr<const HyperExpert>> table_;  // precomputed: [layer * C + pattern]

  mutable std::mutex mu_;  // guards map_, lru_, bytes_ in on-demand mode
  std::unordered_map<uint64_t, Entry> map_;
  std::list<uint64_t> lru_;  // front = most recent
  uint64_t bytes_ = 0;
  std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0};
};

}  // namespace hmoe
