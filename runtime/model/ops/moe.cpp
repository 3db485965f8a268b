#include "runtime/model/ops/moe.h"

#include <algorithm>

#include "runtime/model/ops/elementwise.h"

namespace hmoe {

void MoeScratch::reserve(int64_t T, int64_t d, int64_t f) {
  gathered.resize(static_cast<size_t>(T * d));
  hidden.resize(static_cast<size_t>(T * f));
  expert_out.resize(static_cast<size_t>(T * d));
}

void moe_experts(const MoeWeights& w, int64_t N, int64_t F, FfnActivation act, const float* x, int64_t T, int64_t d,
                 const int32_t* experts, const float* gates, int64_t k, float* out, MoeScratch& s) {
  s.reserve(T, d, F);
  for (int64_t r = 0; r < N; ++r) {
    s.rows.clear();
    s.row_gate.clear();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < k; ++j)
        if (experts[t * k + j] == r) {
          s.rows.push_back(t);
          s.row_gate.push_back(gates[t * k + j]);
        }
    if (s.rows.empty()) continue;
    const int64_t n = static_cast<int64_t>(s.rows.size());
    const float* in = x;
    if (n != T) {
      for (int64_t i = 0; i < n; ++i) std::copy_n(x + s.rows[i] * d, d, s.gathered.data() + i * d);
      in = s.gathered.data();
    }
    kernels::linear(in, n, w.fc.slice(r, N), w.fc_bias ? w.fc_bias + r * F : nullptr, s.hidden.data());
    if (act == FfnActivation::GeluNew) gelu_new_inplace(s.hidden.data(), n * F);
    else relu_inplace(s.hidden.data(), n * F);
    kernels::linear(s.hidden.data(), n, w.proj.slice(r, N), w.proj_bias ? w.proj_bias + r * d : nullptr,
                    s.expert_out.data());
    for (int64_t i = 0; i < n; ++i) {
      float* o = out + s.rows[i] * d;
      const float* e = s.expert_out.data() + i * d;
      const float g = s.row_gate[i];
      for (int64_t c = 0; c < d; ++c) o[c] += g * e[c];
    }
  }
}

}  // namespace hmoe
