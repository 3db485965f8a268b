#include "runtime/model/ops/router.h"

#include <algorithm>

#include "runtime/model/hyper/selection_pattern.h"
#include "runtime/model/ops/elementwise.h"

namespace hmoe {

void Routing::reserve(int64_t T, int64_t k, int64_t n_experts) {
  experts.resize(static_cast<size_t>(T * k));
  gates.resize(static_cast<size_t>(T * k));
  patterns.resize(static_cast<size_t>(T));
  probs.resize(static_cast<size_t>(n_experts));
}

void route_top_k(const float* gate_logits, int64_t N, int64_t k, int32_t* experts, float* gates, float* p) {
  std::copy(gate_logits, gate_logits + N, p);
  softmax_inplace(p, N);
  // Selection by repeated arg-max keeps ties deterministic (lower index wins).
  bool taken[64] = {};
  for (int64_t s = 0; s < k; ++s) {
    int64_t best = -1;
    for (int64_t j = 0; j < N; ++j)
      if (!taken[j] && (best < 0 || p[j] > p[best])) best = j;
    taken[best] = true;
  }
  double sum = 0;
  for (int64_t j = 0, s = 0; j < N; ++j)
    if (taken[j]) {
      experts[s++] = static_cast<int32_t>(j);
      sum += p[j];
    }
  for (int64_t s = 0; s < k; ++s) gates[s] = static_cast<float>(p[experts[s]] / sum);
}

void route_tokens_top_k(const float* gate_logits, int64_t T, int64_t N, int64_t k, Routing& r) {
  r.reserve(T, k, N);
  for (int64_t t = 0; t < T; ++t) {
    int32_t* ex = r.experts.data() + t * k;
    route_top_k(gate_logits + t * N, N, k, ex, r.gates.data() + t * k, r.probs.data());
    r.patterns[t] = pattern_index(ex, k);
  }
}

void route_tokens_top1_capacity(const float* gate_logits, int64_t T, int64_t N, int64_t capacity, Routing& r) {
  r.reserve(T, 1, N);
  std::vector<int64_t> taken(static_cast<size_t>(N), 0);
  float* p = r.probs.data();
  for (int64_t t = 0; t < T; ++t) {
    std::copy(gate_logits + t * N, gate_logits + (t + 1) * N, p);
    softmax_inplace(p, N);
    int64_t best = 0;
    for (int64_t j = 1; j < N; ++j)
      if (p[j] > p[best]) best = j;
    r.patterns[t] = static_cast<uint64_t>(best);  // pattern_index of {best} with k = 1
    r.gates[t] = p[best];
    r.experts[t] = ++taken[best] <= capacity ? static_cast<int32_t>(best) : -1;
  }
}

}  // namespace hmoe
