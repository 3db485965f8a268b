// The HyperExperts of one MoE layer applied to a batch of tokens. Cached: tokens grouped
// by selection pattern (computed by the router), one lookup and one pair of products per
// pattern. Per token: the hypernetwork run for every token, the authors' way, for
// comparison and for models whose cache is off. Both encode and compute identically,
// so they give the same numbers.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "runtime/model/hyper/hyper_cache.h"
#include "runtime/model/ops/moe.h"

namespace hmoe {

class HyperBlock {
 public:
  // out[t] += A(x[t]) for the T tokens (rows of d floats), A the HyperExpert of
  // (slot, patterns[t]) from `cache`.
  void apply_cached(HyperCache& cache, int64_t slot, const uint64_t* patterns, const float* x, int64_t T,
                    float* out);
  // apply_cached, split to let the experts' jobs carry the products (moe.h): where every
  // token shares one pattern (decode) and its HyperExpert is repacked (q8_0 / q4_0), sets
  // `side` to compute A(x) for the T tokens and returns true; finish_side(out) then adds
  // them to out, as apply_cached would, with the same bits. Otherwise false, and nothing
  // is prepared.
  bool prepare_side(HyperCache& cache, int64_t slot, const uint64_t* patterns, const float* x, int64_t T,
                    SideFfn* side);
  void finish_side(float* out);
  // The same, each token's HyperExpert generated now by the slot's hypernetwork into
  // entries of `layout` (the cache's).
  void apply_per_token(const HyperDims& dims, const HyperSlot& slot, const HyperExpertLayout& layout,
                       const uint64_t* patterns, const float* x, int64_t T, float* out);

  // Distinct patterns applied as one product each, since creation.
  uint64_t groups() const { return groups_; }

 private:
  void reserve(int64_t T, int64_t d, int64_t b);

  int64_t d_ = 0;
  std::vector<std::pair<uint64_t, int64_t>> by_pattern_;  // (pattern, token), sorted
  std::vector<int64_t> group_begin_;                      // into by_pattern_, plus the end
  std::vector<uint64_t> group_patterns_;
  std::vector<HyperHandle> handles_;
  HyperGenScratch gen_scratch_;
  std::vector<float> gathered_;  // [T, d]: a group's inputs, gathered
  std::vector<float> adapter_out_;  // [T, d]: A(x) per token, before it is added
  std::vector<float> hidden_;    // [T, b]
  AlignedBytes per_token_entries_;
  int64_t per_token_cap_ = 0;
  uint64_t groups_ = 0;
  int64_t side_tokens_ = 0;  // prepared by prepare_side, not yet added
};

}  // namespace hmoe
