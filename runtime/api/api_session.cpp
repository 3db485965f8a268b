// Sessions: creation, evaluation, logits, sampling and context management.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"

using hmoe::api::ApiError;
using hmoe::api::guarded;
using hmoe::api::require;

namespace hmoe::api {

namespace {

// Logits that are not finite come from weights that overflow (or that the core's checks
// did not catch): the model's fault, never the caller's. Names the first one.
void check_logits_finite(const float* logits, size_t rows, size_t vocab, int64_t first_position) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t v = 0; v < vocab; ++v) {
      const float x = logits[r * vocab + v];
      if (std::isfinite(x)) continue;
      const char* what = std::isnan(x) ? "NaN" : x > 0 ? "+inf" : "-inf";
      throw Error(Status::BadFile, std::string("the model computed a logit of ") + what + " (token id " +
                                       std::to_string(v) + ", position " +
                                       std::to_string(first_position + static_cast<int64_t>(r)) +
                                       "): its weights overflow or are corrupt, so none of its output means anything");
    }
}

}  // namespace

void evaluate(hmoe_session& s, const int32_t* ids, size_t n, float* all_logits) {
  if (n == 0) throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "no tokens to evaluate (n_ids is 0)");
  require(ids, "ids");
  // The core refuses ids outside the vocabulary (INVALID_ARGUMENT) and tokens that do not
  // fit the context (CONTEXT_FULL) before it changes anything; n cannot overflow it.
  const int64_t n_past = s.core.n_past();
  const int64_t T = n > static_cast<size_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(n);
  const size_t vocab = s.logits.size();
  if (all_logits) {
    s.core.eval(ids, T, all_logits, /*all_positions=*/true);
  } else {
    s.core.eval(ids, T, s.next_logits.data(), /*all_positions=*/false);
  }
  try {
    if (all_logits) {
      check_logits_finite(all_logits, n, vocab, n_past);
      std::memcpy(s.next_logits.data(), all_logits + (n - 1) * vocab, vocab * sizeof(float));
    } else {
      check_logits_finite(s.next_logits.data(), 1, vocab, n_past + T - 1);
    }
  } catch (...) {
    s.core.truncate(n_past);  // as if it had never run
    throw;
  }
  // Nothing below allocates (tokens is reserved to n_ctx): the state stays consistent.
  s.logits.swap(s.next_logits);
  s.tokens.insert(s.tokens.end(), ids, ids + n);
  s.has_logits = true;
}

}  // namespace hmoe::api

namespace {

hmoe::SessionOptions session_options_from(const hmoe_session_params& p) {
  hmoe::api::check_threads(p.n_threads, "n_threads");  // the API's range is [1, max]; the core's 0 is its default
  // n_ctx: the core refuses one outside [0, n_positions].
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
    if (!model->model)
      throw ApiError(HMOE_ERR_UNSUPPORTED, "the model '" + model->file().source() +
                                               "' was loaded with vocab_only: it has no weights to run");
    hmoe_session_params p;
    hmoe::api::read_params(params, hmoe_session_default_params, &p);
    const hmoe::SessionOptions options = session_options_from(p);
    const hmoe::text::SamplerParams sampling = hmoe::api::sampler_params_from(p.sampling);
    auto s = std::make_unique<hmoe_session>(*model, options, sampling);
    const size_t vocab = static_cast<size_t>(model->hparams.vocab_size);
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

hmoe_status hmoe_session_encode(hmoe_session* session, const int32_t* ids, size_t n_ids) {
  return guarded(__func__, [&] {
    require(session, "session");
    if (n_ids == 0) throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "no tokens to encode (n_ids is 0)");
    require(ids, "ids");
    const int64_t T = n_ids > static_cast<size_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(n_ids);
    // The core refuses a decoder-only model, an input too long or an id outside the
    // vocabulary before it changes anything.
    session->core.encode(ids, T);
    session->tokens.clear();
    session->has_logits = false;
  });
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
