// One MoE layer's HyperExperts around its experts, the same for every architecture.
// begin() before moe_experts gives the side FFN that rides in the experts' jobs (decode
// with a cached, repacked HyperExpert: its two products then cost no job of their own),
// or null; finish(out) after the experts adds A(x) to out either way, cached or
// generated per token. Their time and pattern groups go to the graph's counters.
#pragma once
#include <cstdint>

#include "runtime/model/graph.h"
#include "runtime/model/ops/hyper_block.h"
#include "runtime/model/session.h"

namespace hmoe {

class Model;

class HyperLayerStep {
 public:
  // mode Off: the layer has no HyperExpert (plain MoE, a layer without a slot, or the
  // session's choice); begin() and finish() then do nothing.
  HyperLayerStep(const Model& model, HyperMode mode, HyperBlock& block, RoutingCounters& counters);
  // The T tokens' inputs x (rows of d floats, alive until finish) and patterns.
  const SideFfn* begin(int64_t slot, const uint64_t* patterns, const float* x, int64_t T);
  void finish(float* out);

 private:
  const Model& model_;
  HyperMode mode_;
  HyperBlock& block_;
  RoutingCounters& counters_;
  uint64_t groups_before_ = 0;
  int64_t slot_ = 0, T_ = 0;
  const uint64_t* patterns_ = nullptr;
  const float* x_ = nullptr;
  SideFfn side_;
  bool with_side_ = false;
  double seconds_ = 0;
};

}  // namespace hmoe
