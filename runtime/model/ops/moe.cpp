#include "runtime/model/ops/moe.h"

#include <algorithm>

namespace hmoe {

void MoeScratch::reserve(int64_t T, int64_t d, int64_t f) {
  auto grow = [](std::vector<float>& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  };
  grow(gathered, T * d);
  grow(hidden, T * f);
  grow(expert_out, T * d);
}

void moe_experts(const MoeWeights& w, int64_t N, int64_t F, FfnActivation act, const float* x, int64_t T, int64_t d,
                 const int32_t* experts, const float* gates, int64_t k, float* out, MoeScratch& s,
                 const SideFfn* side) {
  // The tokens of each expert, in ascending expert index: expert e's are rows
  // [first[e], first[e + 1]) of the scratch buffers.
  s.rows.clear();
  s.row_gate.clear();
  s.active.clear();
  s.first.assign(1, 0);
  for (int64_t r = 0; r < N; ++r) {
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < k; ++j)
        if (experts[t * k + j] == r) {
          s.rows.push_back(t);
          s.row_gate.push_back(gates[t * k + j]);
        }
    if (static_cast<int64_t>(s.rows.size()) == s.first.back()) continue;
    s.active.push_back(r);
    s.first.push_back(static_cast<int64_t>(s.rows.size()));
  }
  const int64_t R = static_cast<int64_t>(s.rows.size());
  s.reserve(R, d, F);
  for (int64_t i = 0; i < R; ++i) std::copy_n(x + s.rows[i] * d, d, s.gathered.data() + i * d);

  // Every expert's first products as one set, then every expert's second: at decode a
  // token's k experts are k small products each, and the threads meet twice per layer
  // rather than 2k times. Each product gives the bits it gives alone.
  const size_t E = s.active.size(), P = E + (side ? 1 : 0);
  s.products.resize(P);
  for (size_t e = 0; e < E; ++e) {
    const int64_t r = s.active[e], r0 = s.first[e], n = s.first[e + 1] - r0;
    s.products[e] = {s.gathered.data() + r0 * d, n, d, w.fc.slice(r, N), w.fc_bias ? w.fc_bias + r * F : nullptr,
                     s.hidden.data() + r0 * F, F};
  }
  if (side) s.products[E] = {side->x, side->M, side->ldx, side->w1, side->b1, side->hidden, side->w1.rows};
  // The activation inside the job: each thread applies it to the rows it computed.
  for (size_t e = 0; e < E; ++e) s.products[e].act = act;
  if (side) s.products[E].act = side->act;
  kernels::linear_set(s.products.data(), static_cast<int64_t>(P));
  for (size_t e = 0; e < E; ++e) {
    const int64_t r = s.active[e], r0 = s.first[e], n = s.first[e + 1] - r0;
    s.products[e] = {s.hidden.data() + r0 * F, n, F, w.proj.slice(r, N), w.proj_bias ? w.proj_bias + r * d : nullptr,
                     s.expert_out.data() + r0 * d, d};
  }
  if (side) s.products[E] = {side->hidden, side->M, side->w1.rows, side->w2, side->b2, side->out, side->w2.rows};
  kernels::linear_set(s.products.data(), static_cast<int64_t>(P));

  for (int64_t i = 0; i < R; ++i) {
    float* o = out + s.rows[i] * d;
    const float* e = s.expert_out.data() + i * d;
    const float g = s.row_gate[i];
    for (int64_t c = 0; c < d; ++c) o[c] += g * e[c];
  }
}

}  // namespace hmoe
