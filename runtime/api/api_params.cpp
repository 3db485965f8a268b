// Default params of the C API and their validation. Defaults come from the C++
// options' own defaults, so the two cannot drift apart.
#include <omp.h>

#include <string>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"

namespace hmoe::api {

void check_threads(int32_t n_threads, const char* field) {
  if (n_threads < 1 || n_threads > HMOE_MAX_THREADS)
    throw ApiError(HMOE_ERR_INVALID_ARGUMENT, std::string(field) + " is " + std::to_string(n_threads) +
                                                  ", outside [1, " + std::to_string(HMOE_MAX_THREADS) + "]");
}

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
  } catch (const std::invalid_argument& e) {
    throw ApiError(HMOE_ERR_INVALID_ARGUMENT, std::string("sampling: ") + e.what());
  }
  return s;
}

namespace {
// What OpenMP would use: OMP_NUM_THREADS, else the number of cores.
int32_t default_threads() {
  const int n = omp_get_max_threads();
  return n < 1 ? 1 : (n > HMOE_MAX_THREADS ? HMOE_MAX_THREADS : n);
}
}  // namespace

}  // namespace hmoe::api

extern "C" {

hmoe_model_params hmoe_model_default_params(void) {
  const hmoe::ModelOptions o;
  hmoe_model_params p{};
  p.hyper_cache_mb = static_cast<int64_t>(o.hyper_cache_bytes >> 20);
  p.n_threads = hmoe::api::default_threads();
  p.hyper_precompute = o.hyper_precompute;
  return p;
}

hmoe_sampling_params hmoe_sampling_default_params(void) {
  const hmoe::text::SamplerParams s;
  hmoe_sampling_params p{};
  p.temperature = s.temperature;
  p.top_k = s.top_k;
  p.top_p = s.top_p;
  p.repetition_penalty = s.repetition_penalty;
  p.penalty_last_n = s.penalty_last_n;
  p.seed = s.seed;
  return p;
}

hmoe_session_params hmoe_session_default_params(void) {
  const hmoe::SessionOptions o;
  hmoe_session_params p{};
  p.n_threads = hmoe::api::default_threads();
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
  return p;
}

}  // extern "C"
