#include "runtime/model/activations.h"

namespace hmoe {

void Activations::reserve(int64_t T, const ActivationDims& a) {
  if (T <= capacity_) return;
  const size_t t = static_cast<size_t>(T);
  residual.resize(t * a.d);
  normed.resize(t * a.d);
  qkv.resize(t * a.qkv);
  heads.resize(t * a.inner);
  sublayer.resize(t * a.d);
  moe_out.resize(t * a.d);
  router_logits.resize(t * a.n_experts);
  routing.reserve(T, a.top_k, a.n_experts);
  capacity_ = T;
}

}  // namespace hmoe
