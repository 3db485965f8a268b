// A session: one sequence's KV cache and scratch over a shared, immutable Model.
// Sessions are not thread-safe themselves; use one per thread.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/model/model.h"

namespace hmoe {

enum class HyperMode {
  Table,     // look HyperExperts up in the model's cache (the fast path)
  PerToken,  // run the hypernetwork for every token, as the authors' code does
  // Skip the HyperExpert: the cost of the same model as plain MoE. Its outputs are NOT
  // the model's; it exists as the baseline `hmoe bench` compares against.
  Off,
};

struct SessionOptions {
  int n_threads = 0;      // 0: the default (runtime/kernels/threads.h)
  HyperMode hyper_mode = HyperMode::Table;
  int64_t n_ctx = 0;      // 0: the model's n_positions
};

// What the router chose for one token of one layer (for --stats and tests).
struct RoutingCounters {
  uint64_t tokens = 0;
  uint64_t hyper_groups = 0;  // distinct patterns applied as one product each
  // Wall time spent on HyperExperts (lookup or generation, and applying them): measured
  // inside the same evals as everything else, it is the HyperExpert's cost even on a
  // machine too busy for run-to-run comparisons.
  double hyper_seconds = 0;
};

class Session {
 public:
  // Throws std::invalid_argument for bad options (threads, context, mode).
  explicit Session(std::shared_ptr<const Model> model, const SessionOptions& opts = {});

  // Runs `ids` after the tokens already in the context. `logits` (if non-null)
  // receives [n, vocab] when all_positions, else [vocab] of the last token.
  // Throws hmoe::Error: InvalidArgument for ids outside the vocabulary, ContextFull when
  // they do not fit the context, and FormatError when the model's weights prove unusable for an expert set first met
  // here (its HyperExpert, generated now by the on-demand cache or the per-token path,
  // overflows the cache's dtype); the context is unchanged when it throws.
  void eval(const int32_t* ids, int64_t n, float* logits, bool all_positions = false);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return n_ctx_; }
  void reset() { n_past_ = 0; }
  // Forgets tokens after the first n (to rewind a generation).
  void truncate(int64_t n);
  const Model& model() const { return *model_; }
  const SessionOptions& options() const { return opts_; }
  const RoutingCounters& counters() const { return counters_; }

 private:
  void ensure_scratch(int64_t T);
  void attention(int64_t layer, int64_t T);
  void moe(int64_t layer, int64_t T);

  std::shared_ptr<const Model> model_;
  SessionOptions opts_;
  int64_t n_ctx_ = 0;
  int64_t n_past_ = 0;
  std::vector<float> k_cache_, v_cache_;  // [L, n_ctx, d]
  // Scratch sized for the largest batch so far.
  int64_t cap_ = 0;
  std::vector<float> h_, x_, qkv_, att_, tmp_, moe_out_, gate_logits_, ffn_, gather_, hidden_;
  std::vector<int32_t> experts_;  // [T, k]
  std::vector<float> gates_;      // [T, k]
  std::vector<float> probs_;
  void hyper_table(int64_t layer, int64_t T);
  void hyper_per_token(int64_t layer, int64_t T);
  // HyperExpert scratch: tokens grouped by pattern, the groups' handles, the generator's
  // buffers and (per-token mode) the entries generated for a batch of tokens.
  std::vector<std::pair<uint64_t, int64_t>> by_pattern_;  // (pattern, token), sorted
  std::vector<int64_t> group_begin_;                      // into by_pattern_, plus the end
  std::vector<int32_t> group_experts_;                    // [groups, k]
  std::vector<HyperHandle> handles_;
  HyperGenScratch gen_scratch_;
  AlignedBytes per_token_entries_;
  int64_t per_token_cap_ = 0;
  RoutingCounters counters_;
};

}  // namespace hmoe
