#include "runtime/model/hyper/hyper_cache.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/model/hyper/selection_pattern.h"

namespace hmoe {

namespace {

struct Key {
  int64_t layer;
  uint64_t pattern;
  bool operator==(const Key& o) const { return layer == o.layer && pattern == o.pattern; }
};

// splitmix64's finaliser: patterns of neighbouring layers land in unrelated shards.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t key_hash(const Key& k) { return mix(k.pattern * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(k.layer)); }

struct KeyHash {
  size_t operator()(const Key& k) const { return static_cast<size_t>(key_hash(k)); }
};

// One generated HyperExpert of the on-demand cache.
struct Entry {
  AlignedBytes bytes;
};

// At most this many shards; fewer when the budget holds few entries, so that a tiny
// cache is one exact LRU. 16 keeps contention negligible for dozens of sessions.
constexpr uint64_t kMaxShards = 16;
constexpr uint64_t kMinEntriesPerShard = 8;

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

struct alignas(64) HyperCache::Shard {
  std::mutex mu;
  struct Node {
    Key key;
    std::shared_ptr<const Entry> entry;
  };
  std::list<Node> lru;  // front = most recently used
  std::unordered_map<Key, std::list<Node>::iterator, KeyHash> map;
  uint64_t capacity = 0;
  // Keys that missed recently but were not kept, oldest first (admission, see acquire).
  std::unordered_set<Key, KeyHash> ghost;
  std::deque<Key> ghost_fifo;
  uint64_t ghost_capacity = 0;
};

const char* hyper_cache_mode_name(HyperCacheMode m) {
  switch (m) {
    case HyperCacheMode::Baked: return "baked";
    case HyperCacheMode::Precomputed: return "precomputed";
    case HyperCacheMode::OnDemand: return "on-demand";
  }
  return "?";
}

double HyperCacheStats::hit_rate() const {
  const uint64_t n = hits + misses;
  return n ? static_cast<double>(hits) / static_cast<double>(n) : 0.0;
}

std::string HyperCacheStats::to_string() const {
  std::string s = "hyper cache: ";
  s += hyper_cache_mode_name(mode);
  s += " ";
  s += dtype_name(dtype);
  s += ", " + std::to_string(entries) + " entries";
  if (mode == HyperCacheMode::OnDemand) s += " of " + std::to_string(capacity_entries);
  s += " (" + mib(bytes);
  if (mode != HyperCacheMode::Baked) s += " of " + mib(budget_bytes) + " budget";
  s += "), " + std::to_string(patterns_per_layer) + " patterns/layer";
  s += ", hits " + std::to_string(hits) + ", misses " + std::to_string(misses);
  if (transient) s += " (" + std::to_string(transient) + " not kept)";
  s += ", evictions " + std::to_string(evictions);
  char rate[32];
  std::snprintf(rate, sizeof rate, ", hit rate %.1f%%", 100.0 * hit_rate());
  s += rate;
  if (mode == HyperCacheMode::Precomputed) {
    char fill[48];
    std::snprintf(fill, sizeof fill, ", filled in %.2f s", fill_seconds);
    s += fill;
  }
  return s;
}

HyperCache::HyperCache(const ModelWeightsBase& w, const HyperCacheOptions& opts)
    : w_(w), dims_(w.hyper_dims), opts_(opts) {
  if (w.hyper_slots.empty()) throw std::logic_error("a HyperExpert cache for a model without HyperExperts");
  per_layer_ = binomial(dims_.n_experts, dims_.top_k);
  if (w.hyper_baked) {
    mode_ = HyperCacheMode::Baked;
    layout_ = HyperExpertLayout::make(dims_.d, dims_.b, w.hyper_slots.at(0).baked->down.dtype);
    return;
  }
  layout_ = HyperExpertLayout::make(dims_.d, dims_.b, hyper_table_dtype(w));
  capacity_ = opts.budget_bytes / layout_.bytes;
  if (capacity_ == 0)
    throw std::invalid_argument("HyperExpert cache budget of " + std::to_string(opts.budget_bytes) +
                                " bytes cannot hold one HyperExpert (" + std::to_string(layout_.bytes) +
                                " bytes in " + dtype_name(layout_.dtype) + " for n_embd " +
                                std::to_string(dims_.d) + ", adapter_dim " + std::to_string(dims_.b) + ")");
  const uint64_t L = static_cast<uint64_t>(w.hyper_slots.size());
  const bool fits = per_layer_ != UINT64_MAX && per_layer_ <= capacity_ / L;
  if (fits && opts.precompute) {
    mode_ = HyperCacheMode::Precomputed;
    fill_all();
    return;
  }
  mode_ = HyperCacheMode::OnDemand;
  n_shards_ = static_cast<uint32_t>(std::clamp<uint64_t>(capacity_ / kMinEntriesPerShard, 1, kMaxShards));
  shards_.reset(new Shard[n_shards_]);
  for (uint32_t i = 0; i < n_shards_; ++i) {
    shards_[i].capacity = capacity_ / n_shards_ + (i < capacity_ % n_shards_ ? 1 : 0);
    // Remembers misses over a window a few times the shard's size (a few dozen bytes
    // each): long enough to catch a pattern's return while the shard is churning.
    shards_[i].ghost_capacity = std::max<uint64_t>(64, 4 * shards_[i].capacity);
  }
}

HyperCache::~HyperCache() = default;

void HyperCache::fill_all() {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t C = per_layer_, L = w_.hyper_slots.size(), total = C * L;
  arena_ = kernels::allocate_huge(total * layout_.bytes);
  std::vector<uint64_t> patterns(C);
  for (uint64_t p = 0; p < C; ++p) patterns[p] = p;
  std::vector<uint8_t*> dst(C);
  HyperGenScratch scratch;
  for (uint64_t l = 0; l < L; ++l) {
    for (uint64_t p = 0; p < C; ++p) dst[p] = arena_.get() + (l * C + p) * layout_.bytes;
    generate_hyper_experts(dims_, w_.hyper_slots[l], layout_, patterns.data(), static_cast<int64_t>(C), dst.data(),
                           &scratch);
  }
  entries_ = total;
  fill_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

HyperExpertView HyperCache::baked_view(int64_t layer, uint64_t p) const {
  const BakedHyperTables& t = *w_.hyper_slots[static_cast<size_t>(layer)].baked;
  const int64_t C = static_cast<int64_t>(per_layer_), pi = static_cast<int64_t>(p);
  HyperExpertView v;
  v.down = t.down.slice(pi, C);
  v.down_bias = t.down_bias + pi * dims_.b;
  v.up = t.up.slice(pi, C);
  v.up_bias = t.up_bias + pi * dims_.d;
  return v;
}

void HyperCache::acquire(int64_t layer, const uint64_t* patterns, int64_t n, HyperHandle* out,
                         HyperGenScratch* scratch) {
  const int64_t L = static_cast<int64_t>(w_.hyper_slots.size());
  if (layer < 0 || layer >= L)
    throw std::invalid_argument("HyperExpert lookup for layer " + std::to_string(layer) + " of " + std::to_string(L));
  switch (mode_) {
    case HyperCacheMode::Baked:
      for (int64_t i = 0; i < n; ++i) out[i] = {baked_view(layer, patterns[i]), nullptr};
      break;
    case HyperCacheMode::Precomputed: {
      const uint8_t* base = arena_.get() + static_cast<uint64_t>(layer) * per_layer_ * layout_.bytes;
      for (int64_t i = 0; i < n; ++i) out[i] = {layout_.view(base + patterns[i] * layout_.bytes), nullptr};
      break;
    }
    case HyperCacheMode::OnDemand:
      acquire_on_demand(layer, patterns, n, out, scratch);
      return;
  }
  hits_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
}

void HyperCache::acquire_on_demand(int64_t layer, const uint64_t* patterns, int64_t n, HyperHandle* out,
                                   HyperGenScratch* scratch) {
  std::vector<int64_t> missing;
  std::vector<char> admit;
  std::vector<Key> keys(static_cast<size_t>(n));
  uint64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    keys[i] = Key{layer, patterns[i]};
    Shard& sh = shards_[key_hash(keys[i]) % n_shards_];
    std::lock_guard<std::mutex> lock(sh.mu);
    auto it = sh.map.find(keys[i]);
    if (it != sh.map.end()) {
      sh.lru.splice(sh.lru.begin(), sh.lru, it->second);
      out[i].keep = it->second->entry;
      out[i].view = layout_.view(it->second->entry->bytes.get());
      ++hits;
      continue;
    }
    // Admission: while the shard has room, every miss is kept. Once it is full, a
    // pattern is kept only when it missed recently already (it is in the ghost list of
    // recent misses); a pattern seen once is generated for this use only. When patterns
    // rarely repeat (C(64, 8) of them) the cache then stops evicting useful entries for
    // ones never seen again, and stops allocating and freeing an entry per token.
    bool keep = sh.lru.size() < sh.capacity;
    if (!keep) {
      keep = sh.ghost.erase(keys[i]) > 0;
      if (!keep) {
        sh.ghost.insert(keys[i]);
        sh.ghost_fifo.push_back(keys[i]);
        while (sh.ghost_fifo.size() > sh.ghost_capacity) {
          sh.ghost.erase(sh.ghost_fifo.front());
          sh.ghost_fifo.pop_front();
        }
      }
    }
    missing.push_back(i);
    admit.push_back(keep);
  }
  if (hits) hits_.fetch_add(hits, std::memory_order_relaxed);
  if (missing.empty()) return;

  // Generate every miss in one batch, outside the locks, so other sessions keep hitting
  // meanwhile: kept ones into new entries, the others into the session's scratch, valid
  // until its next acquire. Two sessions that miss the same pattern at once both
  // generate it; the first to insert wins and the other's copy is dropped.
  const int64_t m = static_cast<int64_t>(missing.size());
  int64_t n_transient = 0;
  for (char a : admit) n_transient += a ? 0 : 1;
  if (static_cast<size_t>(n_transient) * layout_.bytes > scratch->transient_bytes) {
    scratch->transient = alloc_aligned(static_cast<size_t>(n_transient) * layout_.bytes);
    scratch->transient_bytes = static_cast<size_t>(n_transient) * layout_.bytes;
  }
  std::vector<std::shared_ptr<Entry>> fresh(m);
  std::vector<uint8_t*> dst(m);
  std::vector<uint64_t> sel(static_cast<size_t>(m));
  for (int64_t j = 0, t = 0; j < m; ++j) {
    if (admit[j]) {
      fresh[j] = std::make_shared<Entry>();
      fresh[j]->bytes = alloc_aligned(layout_.bytes);
      dst[j] = fresh[j]->bytes.get();
    } else {
      dst[j] = scratch->transient.get() + (t++) * layout_.bytes;
    }
    sel[j] = patterns[missing[j]];
  }
  generate_hyper_experts(dims_, w_.hyper_slots[static_cast<size_t>(layer)], layout_, sel.data(), m, dst.data(),
                         scratch);
  misses_.fetch_add(static_cast<uint64_t>(m), std::memory_order_relaxed);
  if (n_transient) transient_.fetch_add(static_cast<uint64_t>(n_transient), std::memory_order_relaxed);

  uint64_t evicted = 0;
  int64_t inserted = 0;
  for (int64_t j = 0; j < m; ++j) {
    const int64_t i = missing[j];
    if (!admit[j]) {
      out[i].keep = nullptr;
      out[i].view = layout_.view(dst[j]);
      continue;
    }
    Shard& sh = shards_[key_hash(keys[i]) % n_shards_];
    std::shared_ptr<const Entry> victim;  // declared before the lock: freed after it is released
    std::lock_guard<std::mutex> lock(sh.mu);
    auto it = sh.map.find(keys[i]);
    if (it != sh.map.end()) {
      sh.lru.splice(sh.lru.begin(), sh.lru, it->second);
      out[i].keep = it->second->entry;
      out[i].view = layout_.view(it->second->entry->bytes.get());
      continue;
    }
    if (sh.lru.size() >= sh.capacity) {
      Shard::Node& last = sh.lru.back();
      victim = std::move(last.entry);
      sh.map.erase(last.key);
      sh.lru.pop_back();
      ++evicted;
      --inserted;
    }
    sh.lru.push_front({keys[i], fresh[j]});
    sh.map.emplace(keys[i], sh.lru.begin());
    ++inserted;
    out[i].keep = fresh[j];
    out[i].view = layout_.view(fresh[j]->bytes.get());
  }
  if (evicted) evictions_.fetch_add(evicted, std::memory_order_relaxed);
  entries_.fetch_add(static_cast<uint64_t>(inserted), std::memory_order_relaxed);
}

HyperHandle HyperCache::lookup(int64_t layer, const int32_t* experts) {
  HyperHandle h;
  HyperGenScratch scratch;
  const uint64_t pattern = pattern_index(experts, dims_.top_k);
  acquire(layer, &pattern, 1, &h, &scratch);
  if (mode_ == HyperCacheMode::OnDemand && !h.keep) {
    // Generated for one use into `scratch`, which dies here: hand out an owned copy.
    auto own = std::make_shared<Entry>();
    own->bytes = alloc_aligned(layout_.bytes);
    std::memcpy(own->bytes.get(), scratch.transient.get(), layout_.bytes);
    layout_.repack(own->bytes.get());
    h.view = layout_.view(own->bytes.get());
    h.keep = std::move(own);
  }
  return h;
}

HyperCacheStats HyperCache::stats() const {
  HyperCacheStats s;
  s.mode = mode_;
  s.dtype = layout_.dtype;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.transient = transient_.load(std::memory_order_relaxed);
  s.patterns_per_layer = per_layer_;
  s.layers = w_.hyper_slots.size();
  s.fill_seconds = fill_seconds_;
  s.shards = n_shards_;
  s.precomputed = mode_ == HyperCacheMode::Precomputed;
  s.baked = mode_ == HyperCacheMode::Baked;
  if (mode_ == HyperCacheMode::Baked) {
    s.entries = per_layer_ * static_cast<uint64_t>(w_.hyper_slots.size());
    const BakedHyperTables& t = *w_.hyper_slots.at(0).baked;
    const uint64_t per_entry = static_cast<uint64_t>(t.down.bytes() + t.up.bytes()) +
                               static_cast<uint64_t>(dims_.d + dims_.b) * sizeof(float);
    s.bytes = s.entries * per_entry;
    s.entry_bytes = per_entry;
    return s;
  }
  s.entries = entries_.load(std::memory_order_relaxed);
  s.entry_bytes = layout_.bytes;
  s.bytes = s.entries * layout_.bytes;
  s.budget_bytes = opts_.budget_bytes;
  s.capacity_entries = capacity_;
  return s;
}

}  // namespace hmoe
