#include "runtime/model/hyper_layer.h"

#include <chrono>

#include "runtime/model/model.h"

namespace hmoe {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

HyperLayerStep::HyperLayerStep(const Model& model, HyperMode mode, HyperBlock& block, RoutingCounters& counters)
    : model_(model), mode_(mode), block_(block), counters_(counters), groups_before_(block.groups()) {}

const SideFfn* HyperLayerStep::begin(int64_t slot, const uint64_t* patterns, const float* x, int64_t T) {
  slot_ = slot;
  patterns_ = patterns;
  x_ = x;
  T_ = T;
  if (mode_ != HyperMode::Table) return nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  with_side_ = block_.prepare_side(*model_.hyper_cache(), slot, patterns, x, T, &side_);
  seconds_ += seconds_since(t0);
  return with_side_ ? &side_ : nullptr;
}

void HyperLayerStep::finish(float* out) {
  if (mode_ == HyperMode::Off) return;
  const auto t0 = std::chrono::steady_clock::now();
  if (with_side_) {
    block_.finish_side(out);
  } else if (mode_ == HyperMode::Table) {
    block_.apply_cached(*model_.hyper_cache(), slot_, patterns_, x_, T_, out);
  } else {
    const ModelWeightsBase& wb = model_.weights();
    block_.apply_per_token(wb.hyper_dims, wb.hyper_slots[static_cast<size_t>(slot_)], model_.hyper_cache()->layout(),
                           patterns_, x_, T_, out);
  }
  counters_.hyper_groups += block_.groups() - groups_before_;
  counters_.hyper_seconds += seconds_ + seconds_since(t0);
}

}  // namespace hmoe
