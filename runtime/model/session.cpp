#include "runtime/model/session.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "runtime/kernels/row_ops.h"
#include "runtime/kernels/thread_pool.h"
#include "runtime/model/layer_ops.h"
#include "runtime/model/selection_pattern.h"

namespace hmoe {

namespace {
// Restores the caller's OpenMP team size when eval() returns or throws.
class ThreadScope {
 public:
  explicit ThreadScope(int n) : prev_(omp_get_max_threads()) {
    if (n > 0) omp_set_num_threads(n);
  }
  ~ThreadScope() { omp_set_num_threads(prev_); }

 private:
  int prev_;
};
}  // namespace

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& opts)
    : model_(std::move(model)), opts_(opts) {
  if (!model_) throw std::invalid_argument("session needs a model");
  const HParams& hp = model_->hparams();
  if (opts.n_threads < 0 || opts.n_threads > 4096)
    throw std::invalid_argument("n_threads " + std::to_string(opts.n_threads) + " is outside [0, 4096]");
  if (opts.n_ctx < 0 || opts.n_ctx > hp.n_positions)
    throw std::invalid_argument("n_ctx " + std::to_string(opts.n_ctx) + " is outside [0, n_positions=" +
                                std::to_string(hp.n_positions) + "]");
  if (opts.hyper_mode == HyperMode::PerToken && hp.use_hypernet && !model_->has_hypernetwork())
    throw std::invalid_argument("per-token HyperExperts need the hypernetwork, which this baked model lacks");
  n_ctx_ = opts.n_ctx ? opts.n_ctx : hp.n_positions;
  const size_t kv = static_cast<size_t>(hp.n_layer * n_ctx_ * hp.n_embd);
  k_cache_.assign(kv, 0.f);
  v_cache_.assign(kv, 0.f);
}

void Session::truncate(int64_t n) {
  if (n < 0 || n > n_past_)
    throw std::invalid_argument("truncate to " + std::to_string(n) + " tokens, but the context holds " +
                                std::to_string(n_past_));
  n_past_ = n;
}

void Session::ensure_scratch(int64_t T) {
  if (T <= cap_) return;
  const HParams& hp = model_->hparams();
  const size_t d = hp.n_embd, t = T;
  h_.resize(t * d);
  x_.resize(t * d);
  qkv_.resize(t * 3 * d);
  att_.resize(t * d);
  tmp_.resize(t * d);
  moe_out_.resize(t * d);
  gate_logits_.resize(t * hp.n_experts);
  ffn_.resize(t * hp.ffn_dim());
  gather_.resize(t * d);
  hidden_.resize(t * std::max<int64_t>(hp.adapter_dim, 1));
  experts_.resize(t * hp.top_k);
  gates_.resize(t * hp.top_k);
  probs_.resize(hp.n_experts);
  cap_ = T;
}

void Session::eval(const int32_t* ids, int64_t T, float* logits, bool all_positions) {
  const HParams& hp = model_->hparams();
  const ModelWeights& w = model_->weights();
  if (T <= 0 || !ids) throw std::invalid_argument("eval needs at least one token");
  if (T > n_ctx_ - n_past_)
    throw std::invalid_argument("context full: " + std::to_string(n_past_) + " tokens + " + std::to_string(T) +
                                " new exceed the context of " + std::to_string(n_ctx_));
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= hp.vocab_size)
      throw std::invalid_argument("token id " + std::to_string(ids[t]) + " at position " + std::to_string(t) +
                                  " is outside the vocabulary [0, " + std::to_string(hp.vocab_size) + ")");
  ThreadScope threads(opts_.n_threads);
  ensure_scratch(T);
  const int64_t d = hp.n_embd;

  // Embeddings: token row + position row.
  for (int64_t t = 0; t < T; ++t) {
    kernels::dequantize_row(w.tok_embd, ids[t], h_.data() + t * d);
    kernels::dequantize_row(w.pos_embd, n_past_ + t, tmp_.data());
    for (int64_t i = 0; i < d; ++i) h_[t * d + i] += tmp_[i];
  }
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    attention(l, T);
    moe(l, T);
  }
  n_past_ += T;
  counters_.tokens += T;

  if (!logits) return;
  const int64_t first = all_positions ? 0 : T - 1;
  const int64_t rows = T - first;
  layer_norm(h_.data() + first * d, rows, d, w.lnf_w, w.lnf_b, hp.layer_norm_epsilon, x_.data());
  kernels::linear(x_.data(), rows, w.tok_embd, nullptr, logits);
}

void Session::attention(int64_t l, int64_t T) {
  const HParams& hp = model_->hparams();
  const LayerWeights& L = model_->weights().layers[l];
  const int64_t d = hp.n_embd, nh = hp.n_head, hd = hp.head_dim();
  layer_norm(h_.data(), T, d, L.ln1_w, L.ln1_b, hp.layer_norm_epsilon, x_.data());
  kernels::linear(x_.data(), T, L.qkv, L.qkv_bias, qkv_.data());
  float* kc = k_cache_.data() + l * n_ctx_ * d;
  float* vc = v_cache_.data() + l * n_ctx_ * d;
  for (int64_t t = 0; t < T; ++t) {
    std::copy_n(qkv_.data() + t * 3 * d + d, d, kc + (n_past_ + t) * d);
    std::copy_n(qkv_.data() + t * 3 * d + 2 * d, d, vc + (n_past_ + t) * d);
  }
  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  const int64_t past = n_past_;
  // One task per (token, head); the pool's threads share them when there is enough work
  // (prefill), decode's few heads run on this thread.
  const int64_t work = T * nh * (past + T) * hd;
  const int threads = work >= (1 << 18) ? kernels::pool_threads() : 1;
  std::vector<std::vector<float>> scores(static_cast<size_t>(threads), std::vector<float>(past + T));
  kernels::parallel_for(T * nh, threads, [&](int64_t task, int worker) {
    const int64_t t = task / nh, h = task % nh;
    const int64_t n = past + t + 1;  // causal: positions 0..past+t
    kernels::attention_head(qkv_.data() + t * 3 * d + h * hd, kc + h * hd, vc + h * hd, d, n, hd, scale,
                            att_.data() + t * d + h * hd, scores[worker].data());
  });
  kernels::linear(att_.data(), T, L.attn_out, L.attn_out_bias, tmp_.data());
  for (int64_t i = 0; i < T * d; ++i) h_[i] += tmp_[i];
}

void Session::moe(int64_t l, int64_t T) {
  const HParams& hp = model_->hparams();
  const LayerWeights& L = model_->weights().layers[l];
  const int64_t d = hp.n_embd, N = hp.n_experts, k = hp.top_k, F = hp.ffn_dim();
  layer_norm(h_.data(), T, d, L.ln2_w, L.ln2_b, hp.layer_norm_epsilon, x_.data());
  kernels::linear(x_.data(), T, L.gate, nullptr, gate_logits_.data());
  for (int64_t t = 0; t < T; ++t)
    route_top_k(gate_logits_.data() + t * N, N, k, experts_.data() + t * k, gates_.data() + t * k, probs_.data());

  // Experts: gather each expert's tokens, one product per expert, then add the
  // gated outputs per token in ascending expert index.
  std::fill(moe_out_.begin(), moe_out_.begin() + T * d, 0.f);
  std::vector<int64_t> rows;
  std::vector<float> row_gate;
  for (int64_t r = 0; r < N; ++r) {
    rows.clear();
    row_gate.clear();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t s = 0; s < k; ++s)
        if (experts_[t * k + s] == r) {
          rows.push_back(t);
          row_gate.push_back(gates_[t * k + s]);
        }
    if (rows.empty()) continue;
    const int64_t n = static_cast<int64_t>(rows.size());
    const float* in = x_.data();
    if (n != T) {
      for (int64_t i = 0; i < n; ++i) std::copy_n(x_.data() + rows[i] * d, d, gather_.data() + i * d);
      in = gather_.data();
    }
    kernels::linear(in, n, L.fc.slice(r, N), L.fc_bias + r * F, ffn_.data());
    gelu_new_inplace(ffn_.data(), n * F);
    kernels::linear(ffn_.data(), n, L.proj.slice(r, N), L.proj_bias + r * d, tmp_.data());
    for (int64_t i = 0; i < n; ++i) {
      float* o = moe_out_.data() + rows[i] * d;
      const float* e = tmp_.data() + i * d;
      const float g = row_gate[i];
      for (int64_t c = 0; c < d; ++c) o[c] += g * e[c];
    }
  }

  if (hp.use_hypernet && opts_.hyper_mode != HyperMode::Off) {
    const auto t0 = std::chrono::steady_clock::now();
    if (opts_.hyper_mode == HyperMode::Table) hyper_table(l, T);
    else hyper_per_token(l, T);
    counters_.hyper_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  for (int64_t i = 0; i < T * d; ++i) h_[i] += moe_out_[i];
}

// Tokens that share a pattern share a HyperExpert: one lookup per pattern, one product
// per pattern. Groups are visited in pattern order, tokens of a group in position order.
void Session::hyper_table(int64_t l, int64_t T) {
  const int64_t d = model_->hparams().n_embd, k = model_->hparams().top_k;
  by_pattern_.resize(T);
  for (int64_t t = 0; t < T; ++t) by_pattern_[t] = {pattern_index(experts_.data() + t * k, k), t};
  std::sort(by_pattern_.begin(), by_pattern_.end());
  group_begin_.clear();
  group_experts_.clear();
  for (int64_t i = 0; i < T; ++i)
    if (i == 0 || by_pattern_[i].first != by_pattern_[i - 1].first) {
      group_begin_.push_back(i);
      const int32_t* e = experts_.data() + by_pattern_[i].second * k;
      group_experts_.insert(group_experts_.end(), e, e + k);
    }
  const int64_t G = static_cast<int64_t>(group_begin_.size());
  group_begin_.push_back(T);
  handles_.resize(G);
  model_->hyper_cache()->acquire(l, group_experts_.data(), G, handles_.data(), &gen_scratch_);
  // Group g works in rows [b, b + n) of the scratch (b = its first sorted position), so
  // groups never share scratch and may run on different threads. Many groups (prefill):
  // one parallel region over groups, each product on one thread; few groups (decode):
  // the products' own threads. The products take the same path either way, so the
  // numbers do not change.
  const int64_t bd = model_->hparams().adapter_dim;
  auto apply_group = [&](int64_t g) {
    const int64_t b = group_begin_[g], n = group_begin_[g + 1] - b;
    const float* in = x_.data() + by_pattern_[b].second * d;
    if (n > 1) {
      for (int64_t i = 0; i < n; ++i)
        std::copy_n(x_.data() + by_pattern_[b + i].second * d, d, gather_.data() + (b + i) * d);
      in = gather_.data() + b * d;
    }
    apply_hyper_expert(handles_[g].view, in, n, d, tmp_.data() + b * d, hidden_.data() + b * bd);
    for (int64_t i = 0; i < n; ++i) {
      float* o = moe_out_.data() + by_pattern_[b + i].second * d;
      const float* a = tmp_.data() + (b + i) * d;
      for (int64_t c = 0; c < d; ++c) o[c] += a[c];
    }
  };
  const int threads = kernels::pool_threads();
  if (G >= 2 * threads) {
    kernels::parallel_for(G, threads, [&](int64_t g, int) { apply_group(g); });
  } else {
    for (int64_t g = 0; g < G; ++g) apply_group(g);
  }
  counters_.hyper_groups += static_cast<uint64_t>(G);
  handles_.clear();  // lets on-demand entries go
}

// The authors' way: the hypernetwork runs for every token (batched over tokens, as
// PyTorch does), each token applying its own HyperExpert. Entries use the cache's layout,
// so both paths encode and compute identically.
void Session::hyper_per_token(int64_t l, int64_t T) {
  const HParams& hp = model_->hparams();
  const int64_t d = hp.n_embd, k = hp.top_k;
  const HyperExpertLayout& lay = model_->hyper_cache()->layout();
  constexpr int64_t kBatch = 64;
  const int64_t cap = std::min(T, kBatch);
  if (cap > per_token_cap_) {
    per_token_entries_ = alloc_aligned(static_cast<size_t>(cap) * lay.bytes);
    per_token_cap_ = cap;
  }
  uint8_t* dst[kBatch];
  for (int64_t t0 = 0; t0 < T; t0 += cap) {
    const int64_t m = std::min(cap, T - t0);
    for (int64_t i = 0; i < m; ++i) dst[i] = per_token_entries_.get() + i * lay.bytes;
    generate_hyper_experts(hp, model_->weights(), lay, l, experts_.data() + t0 * k, m, dst, &gen_scratch_);
    for (int64_t i = 0; i < m; ++i) {
      apply_hyper_expert(lay.view(dst[i]), x_.data() + (t0 + i) * d, 1, d, tmp_.data(), hidden_.data());
      float* o = moe_out_.data() + (t0 + i) * d;
      for (int64_t c = 0; c < d; ++c) o[c] += tmp_[c];
    }
  }
}

}  // namespace hmoe
