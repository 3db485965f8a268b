#include "runtime/model/switch/switch_graph.h"

#include <algorithm>
#include <cmath>

#include "runtime/model/hyper_layer.h"
#include "runtime/model/ops/elementwise.h"
#include "runtime/model/ops/finite.h"
#include "runtime/model/ops/norms.h"
#include "runtime/model/switch/switch_arch.h"

namespace hmoe {

SwitchGraph::SwitchGraph(std::shared_ptr<const Model> model, const SessionOptions& opts)
    : model_(std::move(model)), w_(model_->weights_as<SwitchWeights>()), hyper_mode_(opts.hyper_mode),
      n_ctx_(opts.n_ctx) {
  const HParams& hp = model_->hparams();
  inner_ = hp.n_head * hp.d_kv;
  enc_bias_ = {w_.enc.rel_bias, hp.relative_attention_num_buckets, hp.relative_attention_max_distance, true};
  dec_bias_ = {w_.dec.rel_bias, hp.relative_attention_num_buckets, hp.relative_attention_max_distance, false};
  const size_t kv = static_cast<size_t>(hp.n_decoder_layer * n_ctx_ * inner_);
  self_k_.assign(kv, 0.f);
  self_v_.assign(kv, 0.f);
}

void SwitchGraph::embed(const int32_t* ids, int64_t T) {
  const HParams& hp = model_->hparams();
  act_.reserve(T, {hp.n_embd, 3 * inner_, inner_, hp.n_experts, 1});
  act_.experts.reserve(T, hp.n_embd, hp.d_ff);
  // T5 embeds tokens with no scaling and no position embedding: positions enter only
  // through the attention's relative bias.
  for (int64_t t = 0; t < T; ++t) kernels::dequantize_row(w_.tok_embd, ids[t], act_.residual.data() + t * hp.n_embd);
}

void SwitchGraph::check(int64_t T, const char* stack, int64_t block) const {
  check_finite(act_.residual.data(), T, model_->hparams().n_embd, model_->file().source(),
               std::string(stack) + " block " + std::to_string(block));
}

void SwitchGraph::encode(const int32_t* ids, int64_t T) {
  const HParams& hp = model_->hparams();
  const int64_t d = hp.n_embd;
  embed(ids, T);
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const SwitchBlock& b = w_.enc.blocks[static_cast<size_t>(i)];
    self_attention(b, T, 0, nullptr, nullptr, /*causal=*/false);
    feed_forward(b, T);
    check(T, "encoder", i);
  }
  enc_out_.resize(static_cast<size_t>(T * d));
  rms_norm(act_.residual.data(), T, d, w_.enc.norm, hp.layer_norm_epsilon, enc_out_.data());
  // Each decoder block's cross-attention keys and values, once per input.
  const int64_t L = hp.n_decoder_layer;
  cross_kv_.resize(static_cast<size_t>(L * T * 2 * inner_));
  cross_rows_.resize(static_cast<size_t>(T * 2 * inner_));
  for (int64_t i = 0; i < L; ++i) {
    kernels::linear(enc_out_.data(), T, w_.dec.blocks[static_cast<size_t>(i)].cross_kv, nullptr, cross_rows_.data());
    // Row t holds every head's key, then every head's value: the keys' rows, then the
    // values', each position-major (KvView).
    float* block = cross_kv_.data() + i * T * 2 * inner_;
    for (int64_t t = 0; t < T; ++t) {
      const float* row = cross_rows_.data() + t * 2 * inner_;
      std::copy_n(row, inner_, block + t * inner_);
      std::copy_n(row + inner_, inner_, block + (T + t) * inner_);
    }
  }
  n_encoded_ = T;
}

uint64_t SwitchGraph::decode_kv_bytes(int64_t n_past) const {
  const HParams& hp = model_->hparams();
  // Each decoder block's self-attention keys and values of positions [0, n_past] and its
  // cross-attention keys and values of the encoded input (f32).
  return static_cast<uint64_t>(hp.n_decoder_layer * 2 * (n_past + 1 + n_encoded_) * inner_) * sizeof(float);
}

void SwitchGraph::eval(const int32_t* ids, int64_t T, int64_t n_past, float* logits, bool all_positions) {
  if (n_encoded_ == 0)
    throw Error(Status::InvalidArgument, "an encoder-decoder session decodes an encoded input: encode one first");
  const HParams& hp = model_->hparams();
  const int64_t d = hp.n_embd;
  embed(ids, T);
  for (int64_t i = 0; i < hp.n_decoder_layer; ++i) {
    const SwitchBlock& b = w_.dec.blocks[static_cast<size_t>(i)];
    const size_t at = static_cast<size_t>(i * n_ctx_ * inner_);
    self_attention(b, T, n_past, self_k_.data() + at, self_v_.data() + at, /*causal=*/true);
    cross_attention(b, i, T);
    feed_forward(b, T);
    check(T, "decoder", i);
  }
  if (!logits) return;
  const int64_t first = all_positions ? 0 : T - 1, rows = T - first;
  float* x = act_.normed.data();
  rms_norm(act_.residual.data() + first * d, rows, d, w_.dec.norm, hp.layer_norm_epsilon, x);
  if (hp.tie_word_embeddings) {
    // T5's tied head sees the decoder output scaled by d_model^-0.5 (in f32, as torch).
    const float scale = static_cast<float>(std::pow(static_cast<double>(d), -0.5));
    for (int64_t i = 0; i < rows * d; ++i) x[i] *= scale;
  }
  kernels::linear(x, rows, w_.lm_head, nullptr, logits);
  check_finite(logits, rows, hp.vocab_size, model_->file().source(), "the logits");
}

void SwitchGraph::self_attention(const SwitchBlock& b, int64_t T, int64_t q_pos0,
                                 float* k_cache, float* v_cache, bool causal) {
  const HParams& hp = model_->hparams();
  const int64_t d = hp.n_embd, w3 = 3 * inner_;
  float* h = act_.residual.data();
  rms_norm(h, T, d, b.ln_self, hp.layer_norm_epsilon, act_.normed.data());
  kernels::linear(act_.normed.data(), T, b.qkv, nullptr, act_.qkv.data());
  const int64_t nh = hp.n_head, hd = hp.d_kv;
  // This call's keys (the encoder): the qkv product's rows, token-major.
  KvView kv{act_.qkv.data() + inner_, act_.qkv.data() + 2 * inner_, w3, hd};
  int64_t n_keys = T;
  if (k_cache) {  // the decoder keeps its keys and values for the tokens that follow, position-major
    for (int64_t t = 0; t < T; ++t) {
      const float* row = act_.qkv.data() + t * w3;
      std::copy_n(row + inner_, inner_, k_cache + (q_pos0 + t) * inner_);
      std::copy_n(row + 2 * inner_, inner_, v_cache + (q_pos0 + t) * inner_);
    }
    kv = KvView{k_cache, v_cache, inner_, hd};
    n_keys = q_pos0 + T;
  }
  // Every block of a stack uses block 0's table.
  const PositionBias& bias = causal ? dec_bias_ : enc_bias_;
  const AttentionHeads heads{nh, hd, 1.f};  // T5 does not scale the scores
  attend(act_.qkv.data(), w3, T, q_pos0, kv, n_keys, causal, heads, &bias, act_.heads.data(), inner_);
  kernels::linear(act_.heads.data(), T, b.attn_out, nullptr, act_.sublayer.data());
  for (int64_t i = 0; i < T * d; ++i) h[i] += act_.sublayer[i];
}

void SwitchGraph::cross_attention(const SwitchBlock& b, int64_t block, int64_t T) {
  const HParams& hp = model_->hparams();
  const int64_t d = hp.n_embd, S = n_encoded_;
  float* h = act_.residual.data();
  rms_norm(h, T, d, b.ln_cross, hp.layer_norm_epsilon, act_.normed.data());
  kernels::linear(act_.normed.data(), T, b.cross_q, nullptr, act_.qkv.data());
  const int64_t hd = hp.d_kv;
  const float* kv = cross_kv_.data() + block * S * 2 * inner_;
  const AttentionHeads heads{hp.n_head, hd, 1.f};
  // No position bias, no mask: every query sees the whole input.
  attend(act_.qkv.data(), inner_, T, 0, KvView{kv, kv + S * inner_, inner_, hd}, S, /*causal=*/false, heads,
         nullptr, act_.heads.data(), inner_);
  kernels::linear(act_.heads.data(), T, b.cross_out, nullptr, act_.sublayer.data());
  for (int64_t i = 0; i < T * d; ++i) h[i] += act_.sublayer[i];
}

void SwitchGraph::feed_forward(const SwitchBlock& b, int64_t T) {
  const HParams& hp = model_->hparams();
  const int64_t d = hp.n_embd, N = hp.n_experts;
  float* h = act_.residual.data();
  const float* x = act_.normed.data();
  rms_norm(h, T, d, b.ln_ff, hp.layer_norm_epsilon, act_.normed.data());
  if (!b.sparse) {
    float* hidden = act_.experts.hidden.data();
    kernels::linear(x, T, b.ffn_wi, nullptr, hidden);
    relu_inplace(hidden, T * hp.d_ff);
    kernels::linear(hidden, T, b.ffn_wo, nullptr, act_.sublayer.data());
    for (int64_t i = 0; i < T * d; ++i) h[i] += act_.sublayer[i];
    return;
  }
  kernels::linear(x, T, b.moe.gate, b.moe.gate_bias, act_.router_logits.data());
  Routing& r = act_.routing;
  route_tokens_top1_capacity(act_.router_logits.data(), T, N, hp.expert_capacity, r);
  float* out = act_.moe_out.data();
  std::fill(out, out + T * d, 0.f);
  HyperLayerStep hyper(*model_, b.slot >= 0 ? hyper_mode_ : HyperMode::Off, act_.hyper, counters);
  const SideFfn* side = hyper.begin(b.slot, r.patterns.data(), x, T);
  moe_experts(b.moe, N, hp.d_ff, FfnActivation::Relu, x, T, d, r.experts.data(), r.gates.data(), 1, out,
              act_.experts, side);
  // A token over capacity passes its normed input through, scaled by its probability.
  for (int64_t t = 0; t < T; ++t)
    if (r.experts[t] < 0)
      for (int64_t c = 0; c < d; ++c) out[t * d + c] = r.gates[t] * x[t * d + c];
  hyper.finish(out);
  for (int64_t i = 0; i < T * d; ++i) h[i] += out[i];
}

}  // namespace hmoe
