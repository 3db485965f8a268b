// What a session runs: an architecture's forward pass over its weights, holding the
// session's caches (keys and values, an encoder's output) and activations. Each
// architecture has one (gpt2/gpt2_graph.h, ...), made by its ArchSpec; the Session in
// front of it checks the caller's arguments and keeps the count of tokens.
#pragma once
#include <cstdint>

namespace hmoe {

// What the router chose, for --stats, tests and benchmarks.
struct RoutingCounters {
  uint64_t tokens = 0;
  uint64_t hyper_groups = 0;  // distinct patterns applied as one product each
  // Wall time spent on HyperExperts (lookup or generation, and applying them): measured
  // inside the same evals as everything else, it is the HyperExpert's cost even on a
  // machine too busy for run-to-run comparisons.
  double hyper_seconds = 0;
};

class Graph {
 public:
  virtual ~Graph() = default;
  // Runs T tokens at positions [n_past, n_past + T) after those in the caches, writing
  // [T, vocab] logits (all_positions) or the last token's [vocab] when `logits` is set.
  // The caller checked ids, room and n_past. Throws Error(BadFile) when the weights
  // produce a non-finite activation.
  virtual void eval(const int32_t* ids, int64_t T, int64_t n_past, float* logits, bool all_positions) = 0;
  // Encoder-decoder graphs: runs the encoder over T ids; the decoder attends to its
  // output until the next encode. Others throw Error(Unsupported).
  virtual void encode(const int32_t* ids, int64_t T);
  // Tokens the encoder holds (0 before the first encode, or for decoder-only models).
  virtual int64_t n_encoded() const { return 0; }
  // The bytes of keys and values one token's eval at position n_past reads from the
  // caches (its own key and value included): what decode reads beside the weights.
  virtual uint64_t decode_kv_bytes(int64_t n_past) const = 0;

  RoutingCounters counters;
};

}  // namespace hmoe
