// The bytes of weights one decode step (one token, M = 1) reads. At M = 1 a CPU's
// arithmetic outruns its memory, so these bytes over the time per token say how close
// decode comes to the machine's read bandwidth (`hmoe bench` reports it).
#pragma once
#include <cstdint>

#include "runtime/model/session.h"

namespace hmoe {

struct DecodeTraffic {
  uint64_t attention = 0;  // layer norms, qkv and output projections, with biases
  uint64_t experts = 0;    // routers and the k experts each layer selects
  uint64_t hyper = 0;      // a HyperExpert per layer: a table entry (Table), or the
                           // hypernetwork that generates it (PerToken); 0 for Off
  uint64_t head = 0;       // the token's and position's embedding rows, final norm, LM head
  uint64_t total() const { return attention + experts + hyper + head; }
};

// Counts each weight a token's forward pass reads once; the KV cache and activations are
// not weights and are left out (at the benchmarks' context lengths they are a few
// percent of the weights or less). Table mode counts cache hits: a miss also runs the
// hypernetwork.
DecodeTraffic decode_weight_traffic(const Model& model, HyperMode mode);

}  // namespace hmoe
