#include "runtime/model/hyper_expert.h"

#include <algorithm>

namespace hmoe {

HyperExpertView HyperExpert::view() const {
  HyperExpertView v;
  const int64_t b = static_cast<int64_t>(down_bias.size()), d = static_cast<int64_t>(up_bias.size());
  v.down = {DType::F32, b, d, down.data()};
  v.down_bias = down_bias.data();
  v.up = {DType::F32, d, b, up.data()};
  v.up_bias = up_bias.data();
  return v;
}

size_t HyperExpert::bytes() const {
  return (down.size() + down_bias.size() + up.size() + up_bias.size()) * sizeof(float);
}

size_t hyper_expert_bytes(const HParams& hp) {
  const size_t d = hp.n_embd, b = hp.adapter_dim;
  return (2 * d * b + d + b) * sizeof(float);
}

void generate_hyper_expert(const HParams& hp, const ModelWeights& w, int64_t layer, const int32_t* experts,
                           HyperExpert* out, std::vector<float>* scratch) {
  const int64_t N = hp.n_experts, k = hp.top_k, e = hp.experts_embedding_dim;
  const int64_t pd = hp.process_dim, hin = hp.hypernet_input, le = hp.layer_emb_dim;
  const int64_t H = hp.hypernetwork_bottleneck, d = hp.n_embd, b = hp.adapter_dim;
  const HyperNetLayerWeights& lw = w.layers[layer].hyper;
  const HyperGeneratorWeights& g = w.generator;

  scratch->resize(e + pd + (hin + le) + H + 2 * d * b);
  float* u = scratch->data();
  float* p0 = u + e;
  float* z = p0 + pd;
  float* a = z + hin + le;
  float* wflat = a + H;  // weight_down(a) then weight_up(a), d*b each

  // u = sum of the embeddings of the experts NOT selected, in ascending expert order.
  std::fill(u, u + e, 0.f);
  for (int64_t j = 0, s = 0; j < N; ++j) {
    if (s < k && experts[s] == j) {
      ++s;
      continue;
    }
    const float* row = lw.expert_embd + j * e;
    for (int64_t c = 0; c < e; ++c) u[c] += row[c];
  }
  kernels::linear(u, 1, lw.proc0, lw.proc0_bias, p0);
  for (int64_t c = 0; c < pd; ++c) p0[c] = std::max(p0[c], 0.f);
  kernels::linear(p0, 1, lw.proc2, lw.proc2_bias, z);  // q = z[0, hin)
  for (int64_t c = 0; c < le; ++c) z[hin + c] = g.layer_embd[layer * le + c];
  kernels::linear(z, 1, g.linear1, g.linear1_bias, a);
  for (int64_t c = 0; c < H; ++c) a[c] = std::max(a[c], 0.f);

  out->down.resize(b * d);
  out->down_bias.resize(b);
  out->up.resize(d * b);
  out->up_bias.resize(d);
  kernels::linear(a, 1, g.weight_down, g.weight_down_bias, wflat);
  kernels::linear(a, 1, g.weight_up, g.weight_up_bias, wflat + d * b);
  kernels::linear(a, 1, g.bias_down, g.bias_down_bias, out->down_bias.data());
  kernels::linear(a, 1, g.bias_up, g.bias_up_bias, out->up_bias.data());
  // weight_down(a).view(d, b): Wd[i][j] = wflat[i*b + j]; the kernels want Wd^T [b, d].
  const float* wd = wflat;
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < b; ++j) out->down[j * d + i] = wd[i * b + j];
  // weight_up(a).view(b, d): Wu[j][i] = wu[j*d + i]; the kernels want Wu^T [d, b].
  const float* wu = wflat + d * b;
  for (int64_t j = 0; j < b; ++j)
    for (int64_t i = 0; i < d; ++i) out->up[i * b + j] = wu[j * d + i];
}

void apply_hyper_expert(const HyperExpertView& he, const float* x, int64_t M, int64_t d, float* out,
                        float* hidden) {
  const int64_t b = he.down.rows;
  kernels::linear(x, M, d, he.down, he.down_bias, hidden, b);
  for (int64_t i = 0; i < M * b; ++i) hidden[i] = std::max(hidden[i], 0.f);
  kernels::linear(hidden, M, b, he.up, he.up_bias, out, d);
}

}  // namespace hmoe
