#include "runtime/model/ops/hyper_block.h"

#include <algorithm>

#include "runtime/kernels/packed_int8.h"
#include "runtime/kernels/thread_pool.h"

namespace hmoe {

void HyperBlock::reserve(int64_t T, int64_t d, int64_t b) {
  d_ = d;
  const size_t td = static_cast<size_t>(T * d);
  if (gathered_.size() < td) gathered_.resize(td);
  if (adapter_out_.size() < td) adapter_out_.resize(td);
  const size_t tb = static_cast<size_t>(T * std::max<int64_t>(b, 1));
  if (hidden_.size() < tb) hidden_.resize(tb);
}

// Tokens that share a pattern share a HyperExpert: one lookup per pattern, one product
// per pattern. Groups are visited in pattern order, tokens of a group in position order.
void HyperBlock::apply_cached(HyperCache& cache, int64_t slot, const uint64_t* patterns, const float* x, int64_t T,
                              float* out) {
  const int64_t d = cache.layout().d, bd = cache.layout().b;
  reserve(T, d, bd);
  by_pattern_.resize(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) by_pattern_[t] = {patterns[t], t};
  std::sort(by_pattern_.begin(), by_pattern_.end());
  group_begin_.clear();
  group_patterns_.clear();
  for (int64_t i = 0; i < T; ++i)
    if (i == 0 || by_pattern_[i].first != by_pattern_[i - 1].first) {
      group_begin_.push_back(i);
      group_patterns_.push_back(by_pattern_[i].first);
    }
  const int64_t G = static_cast<int64_t>(group_begin_.size());
  group_begin_.push_back(T);
  handles_.resize(static_cast<size_t>(G));
  cache.acquire(slot, group_patterns_.data(), G, handles_.data(), &gen_scratch_);
  // Group g works in rows [b, b + n) of the scratch (b = its first sorted position), so
  // groups never share scratch and may run on different threads. Many groups (prefill):
  // one parallel region over groups, each product on one thread; few groups (decode):
  // the products' own threads. The products take the same path either way, so the
  // numbers do not change.
  auto apply_group = [&](int64_t g) {
    const int64_t b = group_begin_[g], n = group_begin_[g + 1] - b;
    const float* in = x + by_pattern_[b].second * d;
    if (n > 1) {
      for (int64_t i = 0; i < n; ++i)
        std::copy_n(x + by_pattern_[b + i].second * d, d, gathered_.data() + (b + i) * d);
      in = gathered_.data() + b * d;
    }
    apply_hyper_expert(handles_[g].view, in, n, d, adapter_out_.data() + b * d, hidden_.data() + b * bd);
    for (int64_t i = 0; i < n; ++i) {
      float* o = out + by_pattern_[b + i].second * d;
      const float* a = adapter_out_.data() + (b + i) * d;
      for (int64_t c = 0; c < d; ++c) o[c] += a[c];
    }
  };
  const int threads = kernels::pool_threads();
  if (G >= 2 * threads) {
    kernels::parallel_for(G, threads, [&](int64_t g, int) { apply_group(g); });
  } else {
    for (int64_t g = 0; g < G; ++g) apply_group(g);
  }
  groups_ += static_cast<uint64_t>(G);
  handles_.clear();  // lets on-demand entries go
}

bool HyperBlock::prepare_side(HyperCache& cache, int64_t slot, const uint64_t* patterns, const float* x, int64_t T,
                              SideFfn* side) {
  side_tokens_ = 0;
  if (T <= 0 || !cache.layout().packed) return false;
  for (int64_t t = 1; t < T; ++t)
    if (patterns[t] != patterns[0]) return false;
  const int64_t d = cache.layout().d, bd = cache.layout().b;
  reserve(T, d, bd);
  handles_.resize(1);
  cache.acquire(slot, patterns, 1, handles_.data(), &gen_scratch_);
  const HyperExpertView& he = handles_[0].view;
  if (!kernels::packed_for(he.down) || !kernels::packed_for(he.up)) {
    handles_.clear();
    return false;
  }
  // One group, its tokens in position order: apply_cached's numbers for G = 1.
  *side = SideFfn{x, T, d, he.down, he.up, he.down_bias, he.up_bias, FfnActivation::Relu, hidden_.data(),
                  adapter_out_.data()};
  side_tokens_ = T;
  groups_ += 1;
  return true;
}

void HyperBlock::finish_side(float* out) {
  for (int64_t t = 0; t < side_tokens_; ++t) {
    float* o = out + t * d_;
    const float* a = adapter_out_.data() + t * d_;
    for (int64_t c = 0; c < d_; ++c) o[c] += a[c];
  }
  side_tokens_ = 0;
  handles_.clear();  // lets an on-demand entry go
}

// The authors' way: the hypernetwork runs for every token (batched over tokens, as
// PyTorch does), each token applying its own HyperExpert.
void HyperBlock::apply_per_token(const HyperDims& dims, const HyperSlot& slot, const HyperExpertLayout& lay,
                                 const uint64_t* patterns, const float* x, int64_t T, float* out) {
  const int64_t d = dims.d;
  reserve(1, d, dims.b);
  constexpr int64_t kBatch = 64;
  const int64_t cap = std::min(T, kBatch);
  if (cap > per_token_cap_) {
    per_token_entries_ = alloc_aligned(static_cast<size_t>(cap) * lay.bytes);
    per_token_cap_ = cap;
  }
  uint8_t* dst[kBatch];
  for (int64_t t0 = 0; t0 < T; t0 += cap) {
    const int64_t m = std::min(cap, T - t0);
    for (int64_t i = 0; i < m; ++i) dst[i] = per_token_entries_.get() + i * lay.bytes;
    generate_hyper_experts(dims, slot, lay, patterns + t0, m, dst, &gen_scratch_);
    for (int64_t i = 0; i < m; ++i) {
      apply_hyper_expert(lay.view(dst[i]), x + (t0 + i) * d, 1, d, adapter_out_.data(), hidden_.data());
      float* o = out + (t0 + i) * d;
      for (int64_t c = 0; c < d; ++c) o[c] += adapter_out_[c];
    }
  }
}

}  // namespace hmoe
