// The per-(layer, selection pattern) HyperExpert cache: the reason this runtime exists.
// The HyperExpert of a token depends only on its layer and the SET of experts it
// selected, so each one is generated once and looked up afterwards. Layers are the
// model's HyperExpert slots (weights.h): every MoE layer of the model, whatever the
// architecture (GPT-2: each block; Switch: each sparse block of either stack).
//
// Three modes, chosen at load:
// - Baked: the file carries the tables (hyper_baked); lookups read them in place.
// - Precomputed: every pattern of every layer fits the byte budget, so all are generated
//   at load, in batches, into one arena. Lookups are pointer arithmetic: no lock, no
//   reference count.
// - OnDemand: entries are generated on first use and evicted least-recently-used to stay
//   within the budget. The LRU is split into shards by key, each with its own lock, so
//   sessions on different threads rarely wait for each other; a batch of misses is
//   generated together outside any lock. Once full, the cache keeps a new pattern only
//   on its second miss in a while (a ghost list of recent misses): patterns seen once
//   are generated into the session's scratch, so a pattern space far beyond the budget
//   (N = 64, k = 8) costs what per-token generation costs, not more. Entries are
//   reference-counted: one evicted while a session still applies it stays valid until
//   that session lets go, so memory may exceed the budget by the entries sessions hold.
// Every mode stores entries in the same dtype and generates them with the same code as
// the per-token path, so cached and per-token HyperExperts give the same numbers.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/kernels/huge_pages.h"
#include "runtime/model/hyper/hyper_expert.h"

namespace hmoe {

enum class HyperCacheMode { Baked, Precomputed, OnDemand };
const char* hyper_cache_mode_name(HyperCacheMode m);

struct HyperCacheOptions {
  uint64_t budget_bytes = 256ull << 20;
  // false: never fill at load, even when everything fits (always on demand).
  bool precompute = true;
};

struct HyperCacheStats {
  HyperCacheMode mode = HyperCacheMode::OnDemand;
  DType dtype = DType::F32;         // of the tables' matrices
  uint64_t hits = 0;                // lookups answered without running the hypernetwork
  uint64_t misses = 0;              // HyperExperts generated on demand
  uint64_t transient = 0;           // of those, generated for one use and not kept (admission)
  uint64_t evictions = 0;
  uint64_t entries = 0;             // held now
  uint64_t bytes = 0;               // held now (baked: the tables' bytes in the mapped file)
  uint64_t budget_bytes = 0;
  uint64_t entry_bytes = 0;
  uint64_t capacity_entries = 0;    // entries the budget holds
  uint64_t patterns_per_layer = 0;  // C(N, k)
  uint64_t layers = 0;              // HyperExpert slots
  uint32_t shards = 0;              // OnDemand only
  double fill_seconds = 0;          // Precomputed: time spent generating at load
  bool precomputed = false;         // mode == Precomputed (kept for existing callers)
  bool baked = false;               // mode == Baked

  double hit_rate() const;
  // One line for `hmoe run --stats` and logs, e.g.
  // "hyper cache: precomputed f32, 336/336 entries (130.4 MiB of 256.0 MiB), hits 1200, misses 0 ..."
  std::string to_string() const;
};

struct HyperHandle {
  HyperExpertView view;
  std::shared_ptr<const void> keep;  // holds an on-demand entry alive; empty otherwise
};

class HyperCache {
 public:
  // Throws std::invalid_argument when the budget cannot hold even one HyperExpert.
  // `w` must outlive the cache.
  HyperCache(const ModelWeightsBase& w, const HyperCacheOptions& opts);
  ~HyperCache();
  HyperCache(const HyperCache&) = delete;
  HyperCache& operator=(const HyperCache&) = delete;

  // The HyperExperts of n distinct patterns (selection_pattern.h, computed once per
  // token by the router) of slot `layer` into out[0..n). Misses are generated in one
  // batch. Thread-safe; `scratch` belongs to the calling session.
  void acquire(int64_t layer, const uint64_t* patterns, int64_t n, HyperHandle* out, HyperGenScratch* scratch);
  // One pattern, given as its k ascending experts; allocates its own scratch on a miss.
  HyperHandle lookup(int64_t layer, const int32_t* experts);

  HyperCacheMode mode() const { return mode_; }
  // How entries are stored (the dtype every path encodes HyperExperts in).
  const HyperExpertLayout& layout() const { return layout_; }
  HyperCacheStats stats() const;

 private:
  struct Shard;
  HyperExpertView baked_view(int64_t layer, uint64_t pattern) const;
  void fill_all();
  void acquire_on_demand(int64_t layer, const uint64_t* patterns, int64_t n, HyperHandle* out,
                         HyperGenScratch* scratch);

  const ModelWeightsBase& w_;
  const HyperDims& dims_;
  HyperCacheOptions opts_;
  HyperCacheMode mode_ = HyperCacheMode::OnDemand;
  HyperExpertLayout layout_;
  uint64_t per_layer_ = 0;  // C(N, k)
  uint64_t capacity_ = 0;   // entries
  double fill_seconds_ = 0;

  // Precomputed: entry (layer * C + pattern) at that index * layout_.bytes. In huge pages,
  // as the experts are: each token reads a few scattered entries of ~100 KiB, and in 4 KiB
  // pages each of those pages costs a TLB miss on every use.
  kernels::HugeBuffer arena_;

  std::unique_ptr<Shard[]> shards_;  // OnDemand
  uint32_t n_shards_ = 0;
  std::atomic<uint64_t> entries_{0};
  std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0}, transient_{0};
};

}  // namespace hmoe
