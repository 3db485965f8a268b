// The bytes of weights one decode step (one token, M = 1) reads. At M = 1 a CPU's
// arithmetic outruns its memory, so these bytes over the time per token say how close
// decode comes to the machine's read bandwidth (`hmoe bench` reports it).
#pragma once
#include <cstdint>

#include "runtime/model/session.h"

namespace hmoe {

struct DecodeTraffic {
  uint64_t dense = 0;    // what every token reads whole: attention, norms, routers, dense FFNs
  uint64_t experts = 0;  // the top_k experts each MoE layer selects
  uint64_t hyper = 0;    // a HyperExpert per MoE layer: a table entry (Table), or the
                         // hypernetwork that generates it (PerToken); 0 for Off
  uint64_t head = 0;     // embedding rows and the LM head
  uint64_t total() const { return dense + experts + hyper + head; }
};

// Counts each weight a token's forward pass reads once, from the architecture's tensor
// table (arch.h, DecodeRead); the KV cache and activations are not weights and are left
// out (Session::decode_kv_bytes counts the keys and values: a few percent of GPT-2's
// weights at the benchmarks' 64 tokens, about a tenth of switch-base-8's q4_0 weights).
// Table mode counts cache hits: a miss also runs the hypernetwork.
DecodeTraffic decode_weight_traffic(const Model& model, HyperMode mode);

}  // namespace hmoe
