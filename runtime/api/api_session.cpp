// Sessions: creation, evaluation, logits, sampling and context management.
#include <algorithm>
#include <cstring>
#include <string>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"

using hmoe::api::ApiError;
using hmoe::api::guarded;
using hmoe::api::require;

namespace hmoe::api {

void evaluate(hmoe_session& s, const int32_t* ids, size_t n, float* all_logits) {
  if (n == 0) throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "no tokens to evaluate (n_ids is 0)");
  require(ids, "ids");
  const int64_t n_past = s.core.n_past(), n_ctx = s.core.n_ctx();
  if (n > static_cast<uint64_t>(n_ctx - n_past))
    throw ApiError(HMOE_ERR_CONTEXT_FULL, "context full: " + std::to_string(n_past) + " tokens + " +
                                              std::to_string(n) + " new exceed the context of " +
                                              std::to_string(n_ctx));
  const int64_t vocab = s.model->hparams().vocab_size;
  for (size_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "token id " + std::to_string(ids[i]) + " at index " +
                                                    std::to_string(i) + " is outside the vocabulary [0, " +
                                                    std::to_string(vocab) + ")");
  const int64_t T = static_cast<int64_t>(n);
  if (all_logits) {
    s.core.eval(ids, T, all_logits, /*all_positions=*/true);
    std::memcpy(s.next_logits.data(), all_logits + (n - 1) * static_cast<size_t>(vocab), vocab * sizeof(float));
  } else {
    s.core.eval(ids, T, s.next_logits.data(), /*all_positions=*/false);
  }
  // Nothing below allocates (tokens is reserved to n_ctx): the state stays consistent.
  s.logits.swap(s.next_logits);
  s.tokens.insert(s.tokens.end(), ids, ids + n);
  s.has_logits = true;
}

}  // namespace hmoe::api

namespace {

hmoe::SessionOptions session_options_from(const hmoe_model& model, const hmoe_session_params& p) {
  hmoe::api::check_threads(p.n_threads, "n_threads");
  const int64_t n_positions = model.model->hparams().n_positions;
  if (p.n_ctx < 0 || p.n_ctx > n_positions)
    throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "n_ctx is " + std::to_string(p.n_ctx) + ", outside [0, " +
                                                  std::to_string(n_positions) +
                                                  "] (0 is the model's n_ctx_train)");
  hmoe::SessionOptions o;
  o.n_threads = p.n_threads;
  o.n_ctx = p.n_ctx;
  const int mode = hmoe::api::enum_field(p.hyper_mode);
  switch (mode) {
    case HMOE_HYPER_TABLE: o.hyper_mode = hmoe::HyperMode::Table; break;
    case HMOE_HYPER_PER_TOKEN: o.hyper_mode = hmoe::HyperMode::PerToken; break;
    default:
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "hyper_mode is " + std::to_string(mode) +
                                                    ", expected HMOE_HYPER_TABLE (0) or HMOE_HYPER_PER_TOKEN (1)");
  }
  return o;
}

}  // namespace

extern "C" {

hmoe_status hmoe_session_create(const hmoe_model* model, const hmoe_session_params* params,
                                hmoe_session** out_session) {
  return guarded(__func__, [&] {
    require(out_session, "out_session");
    require(model, "model");
    hmoe_session_params p;
    hmoe::api::read_params(params, hmoe_session_default_params, &p);
    const hmoe::SessionOptions options = session_options_from(*model, p);
    const hmoe::text::SamplerParams sampling = hmoe::api::sampler_params_from(p.sampling);
    auto s = std::make_unique<hmoe_session>(*model, options, sampling);
    const size_t vocab = static_cast<size_t>(model->model->hparams().vocab_size);
    s->tokens.reserve(static_cast<size_t>(s->core.n_ctx()));
    s->logits.resize(vocab);
    s->next_logits.resize(vocab);
    *out_session = s.release();
  });
}

void hmoe_session_free(hmoe_session* session) { delete session; }

hmoe_status hmoe_session_eval(hmoe_session* session, const int32_t* ids, size_t n_ids) {
  return guarded(__func__, [&] { hmoe::api::evaluate(*require(session, "session"), ids, n_ids, nullptr); });
}

hmoe_status hmoe_session_eval_all_logits(hmoe_session* session, const int32_t* ids, size_t n_ids, float* logits,
                                         size_t capacity) {
  return guarded(__func__, [&] {
    require(session, "session");
    require(logits, "logits");
    const size_t vocab = session->logits.size();
    // n_ids is bounded by the context before the product can overflow.
    const size_t room = static_cast<size_t>(session->core.n_ctx() - session->core.n_past());
    if (n_ids <= room && n_ids * vocab > capacity)
      throw ApiError(HMOE_ERR_BUFFER_TOO_SMALL, std::to_string(n_ids) + " tokens x " + std::to_string(vocab) +
                                                    " logits need " + std::to_string(n_ids * vocab) +
                                                    " floats, the buffer holds " + std::to_string(capacity));
    hmoe::api::evaluate(*session, ids, n_ids, logits);
  });
}

hmoe_status hmoe_session_get_logits(const hmoe_session* session, const float** out_logits, size_t* out_n_vocab) {
  return guarded(__func__, [&] {
    require(session, "session");
    require(out_logits, "out_logits");
    if (!session->has_logits)
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "no logits: nothing was evaluated since the session was created, "
                                                "reset or truncated");
    *out_logits = session->logits.data();
    if (out_n_vocab) *out_n_vocab = session->logits.size();
  });
}

hmoe_status hmoe_session_sample(hmoe_session* session, int32_t* out_token) {
  return guarded(__func__, [&] {
    require(session, "session");
    require(out_token, "out_token");
    if (!session->has_logits)
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "nothing to sample from: evaluate a token first");
    *out_token = session->sampler.sample(session->logits.data(), session->logits.size(), session->tokens.data(),
                                         session->tokens.size());
  });
}

hmoe_status hmoe_session_set_sampling(hmoe_session* session, const hmoe_sampling_params* params) {
  return guarded(__func__, [&] {
    require(session, "session");
    require(params, "params");
    session->sampler = hmoe::text::Sampler(hmoe::api::sampler_params_from(*params));
  });
}

hmoe_status hmoe_session_reset(hmoe_session* session) {
  return guarded(__func__, [&] {
    require(session, "session");
    session->core.reset();
    session->tokens.clear();
    session->has_logits = false;
  });
}

hmoe_status hmoe_session_truncate(hmoe_session* session, size_t n_keep) {
  return guarded(__func__, [&] {
    require(session, "session");
    const size_t n_past = session->tokens.size();
    if (n_keep > n_past)
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "cannot keep " + std::to_string(n_keep) +
                                                    " tokens: the context holds " + std::to_string(n_past));
    if (n_keep == n_past) return;
    session->core.truncate(static_cast<int64_t>(n_keep));
    session->tokens.resize(n_keep);
    session->has_logits = false;
  });
}

hmoe_status hmoe_session_get_info(const hmoe_session* session, hmoe_session_info* out_info) {
  return guarded(__func__, [&] {
    require(session, "session");
    require(out_info, "out_info");
    const hmoe::SessionOptions& o = session->core.options();
    hmoe_session_info i{};
    i.n_past = static_cast<int32_t>(session->core.n_past());
    i.n_ctx = static_cast<int32_t>(session->core.n_ctx());
    i.n_vocab = static_cast<int32_t>(session->logits.size());
    i.n_threads = o.n_threads;
    i.hyper_mode = o.hyper_mode == hmoe::HyperMode::PerToken ? HMOE_HYPER_PER_TOKEN : HMOE_HYPER_TABLE;
    i.n_evaluated = session->core.counters().tokens;
    *out_info = i;
  });
}

hmoe_status hmoe_session_get_tokens(const hmoe_session* session, int32_t* ids, size_t capacity, size_t* out_n) {
  return guarded(__func__, [&] {
    require(session, "session");
    require(out_n, "out_n");
    if (capacity > 0) require(ids, "ids");
    const std::vector<int32_t>& t = session->tokens;
    *out_n = t.size();
    if (t.size() > capacity)
      throw ApiError(HMOE_ERR_BUFFER_TOO_SMALL, "the context holds " + std::to_string(t.size()) +
                                                    " tokens, the buffer " + std::to_string(capacity));
    std::copy(t.begin(), t.end(), ids);
  });
}

}  // extern "C"
