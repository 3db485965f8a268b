// Default params of the C API and their validation. Model and session defaults come
// from the C++ options' own defaults and the thread count from the one function that
// decides it (runtime/kernels/threads.h), so they cannot drift apart; the sampling
// defaults are the API's (and `hmoe run`'s), set here and documented in hypermoe.h.
#include <string>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"
#include "runtime/kernels/threads.h"

namespace hmoe::api {

void check_threads(int32_t n_threads, const char* field) { kernels::resolve_threads(n_threads, field, 1); }

text::SamplerParams sampler_params_from(const hmoe_sampling_params& p) {
  text::SamplerParams s;
  s.temperature = p.temperature;
  s.top_k = p.top_k;
  s.top_p = p.top_p;
  s.repetition_penalty = p.repetition_penalty;
  s.penalty_last_n = p.penalty_last_n;
  s.seed = p.seed;
  try {
    text::validate_sampler_params(s);
  } catch (const Error& e) {
    throw ApiError(HMOE_ERR_INVALID_ARGUMENT, std::string("sampling: ") + e.what());
  }
  return s;
}

}  // namespace hmoe::api

extern "C" {

hmoe_model_params hmoe_model_default_params(void) {
  const hmoe::ModelOptions o;
  hmoe_model_params p{};
  p.hyper_cache_mb = static_cast<int64_t>(o.hyper_cache_bytes >> 20);
  p.n_threads = hmoe::kernels::default_threads();
  p.hyper_precompute = o.hyper_precompute;
  p.vocab_only = false;
  return p;
}

hmoe_sampling_params hmoe_sampling_default_params(void) {
  // llama.cpp's defaults (its repetition penalty is off too): what users of llama-cli
  // expect from `hmoe run`, and temperature 0 alone is then plain greedy decoding.
  hmoe_sampling_params p{};
  p.temperature = 0.8f;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.repetition_penalty = 1.0f;
  p.penalty_last_n = 64;
  p.seed = 0;
  return p;
}

hmoe_status hmoe_sampling_params_check(const hmoe_sampling_params* params) {
  return hmoe::api::guarded(__func__, [&] { hmoe::api::sampler_params_from(*hmoe::api::require(params, "params")); });
}

hmoe_session_params hmoe_session_default_params(void) {
  const hmoe::SessionOptions o;
  hmoe_session_params p{};
  p.n_threads = hmoe::kernels::default_threads();
  p.n_ctx = static_cast<int32_t>(o.n_ctx);
  p.hyper_mode = o.hyper_mode == hmoe::HyperMode::PerToken ? HMOE_HYPER_PER_TOKEN : HMOE_HYPER_TABLE;
  p.sampling = hmoe_sampling_default_params();
  return p;
}

hmoe_generate_params hmoe_generate_default_params(void) {
  hmoe_generate_params p{};
  p.max_tokens = 64;
  p.stop_at_eos = true;
  p.on_token = nullptr;
  p.user_data = nullptr;
  p.ignore_eos = false;
  p.stop_strings = nullptr;
  p.n_stop_strings = 0;
  p.context_shift = false;
  p.n_keep = 0;
  p.cancel = nullptr;
  return p;
}

}  // extern "C"
