#include "runtime/model/gpt2/gpt2_graph.h"

#include <algorithm>
#include <cmath>

#include "runtime/model/gpt2/gpt2_arch.h"
#include "runtime/model/hyper_layer.h"
#include "runtime/model/ops/attention.h"
#include "runtime/model/ops/finite.h"
#include "runtime/model/ops/norms.h"

namespace hmoe {

Gpt2Graph::Gpt2Graph(std::shared_ptr<const Model> model, const SessionOptions& opts)
    : model_(std::move(model)), w_(model_->weights_as<Gpt2Weights>()), hyper_mode_(opts.hyper_mode),
      n_ctx_(opts.n_ctx) {
  const HParams& hp = model_->hparams();
  const size_t kv = static_cast<size_t>(hp.n_layer * n_ctx_ * hp.n_embd);
  k_cache_.assign(kv, 0.f);
  v_cache_.assign(kv, 0.f);
}

void Gpt2Graph::eval(const int32_t* ids, int64_t T, int64_t n_past, float* logits, bool all_positions) {
  const HParams& hp = model_->hparams();
  const int64_t d = hp.n_embd;
  act_.reserve(T, {d, 3 * d, d, hp.n_experts, hp.top_k});
  float* h = act_.residual.data();

  // Embeddings: token row + position row.
  for (int64_t t = 0; t < T; ++t) {
    kernels::dequantize_row(w_.tok_embd, ids[t], h + t * d);
    kernels::dequantize_row(w_.pos_embd, n_past + t, act_.sublayer.data());
    for (int64_t i = 0; i < d; ++i) h[t * d + i] += act_.sublayer[i];
  }
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    attention(l, T, n_past);
    moe(l, T);
    // A finite model whose activations overflow (a corrupt weight of 1e37, say) would
    // otherwise print NaN logits as if they were results: refused where first seen.
    check_finite(h, T, d, model_->file().source(), "block " + std::to_string(l));
  }

  if (!logits) return;
  const int64_t first = all_positions ? 0 : T - 1;
  const int64_t rows = T - first;
  layer_norm(h + first * d, rows, d, w_.lnf_w, w_.lnf_b, hp.layer_norm_epsilon, act_.normed.data());
  kernels::linear(act_.normed.data(), rows, w_.tok_embd, nullptr, logits);
  check_finite(logits, rows, hp.vocab_size, model_->file().source(), "the logits");
}

uint64_t Gpt2Graph::decode_kv_bytes(int64_t n_past) const {
  const HParams& hp = model_->hparams();
  // Each layer's keys and values of positions [0, n_past], every head's (f32).
  return static_cast<uint64_t>(hp.n_layer * 2 * (n_past + 1) * hp.n_embd) * sizeof(float);
}

void Gpt2Graph::attention(int64_t l, int64_t T, int64_t n_past) {
  const HParams& hp = model_->hparams();
  const Gpt2Layer& L = w_.layers[static_cast<size_t>(l)];
  const int64_t d = hp.n_embd, hd = hp.head_dim();
  float* h = act_.residual.data();
  layer_norm(h, T, d, L.ln1_w, L.ln1_b, hp.layer_norm_epsilon, act_.normed.data());
  kernels::linear(act_.normed.data(), T, L.qkv, L.qkv_bias, act_.qkv.data());
  // Position-major: position p's keys of every head at kc + p * d, as the product gives
  // them (KvView; attend() then reads a decode token's keys front to back).
  float* kc = k_cache_.data() + l * n_ctx_ * d;
  float* vc = v_cache_.data() + l * n_ctx_ * d;
  for (int64_t t = 0; t < T; ++t) {
    const float* row = act_.qkv.data() + t * 3 * d;
    std::copy_n(row + d, d, kc + (n_past + t) * d);
    std::copy_n(row + 2 * d, d, vc + (n_past + t) * d);
  }
  const AttentionHeads heads{hp.n_head, hd, 1.f / std::sqrt(static_cast<float>(hd))};
  attend(act_.qkv.data(), 3 * d, T, n_past, KvView{kc, vc, d, hd}, n_past + T, /*causal=*/true, heads, nullptr,
         act_.heads.data(), d);
  kernels::linear(act_.heads.data(), T, L.attn_out, L.attn_out_bias, act_.sublayer.data());
  for (int64_t i = 0; i < T * d; ++i) h[i] += act_.sublayer[i];
}

void Gpt2Graph::moe(int64_t l, int64_t T) {
  const HParams& hp = model_->hparams();
  const Gpt2Layer& L = w_.layers[static_cast<size_t>(l)];
  const int64_t d = hp.n_embd, N = hp.n_experts, k = hp.top_k;
  float* h = act_.residual.data();
  const float* x = act_.normed.data();
  layer_norm(h, T, d, L.ln2_w, L.ln2_b, hp.layer_norm_epsilon, act_.normed.data());
  kernels::linear(x, T, L.moe.gate, nullptr, act_.router_logits.data());
  route_tokens_top_k(act_.router_logits.data(), T, N, k, act_.routing);

  std::fill(act_.moe_out.begin(), act_.moe_out.begin() + T * d, 0.f);
  // With its products in the experts' jobs, a HyperExpert's own time (counters) holds
  // only the lookup and the add; its products show in the token's time (hmoe bench:
  // cached against moe).
  HyperLayerStep hyper(*model_, hp.use_hypernet ? hyper_mode_ : HyperMode::Off, act_.hyper, counters);
  const SideFfn* side = hyper.begin(l, act_.routing.patterns.data(), x, T);
  moe_experts(L.moe, N, hp.ffn_dim(), FfnActivation::GeluNew, x, T, d, act_.routing.experts.data(),
              act_.routing.gates.data(), k, act_.moe_out.data(), act_.experts, side);
  hyper.finish(act_.moe_out.data());
  for (int64_t i = 0; i < T * d; ++i) h[i] += act_.moe_out[i];
}

}  // namespace hmoe
