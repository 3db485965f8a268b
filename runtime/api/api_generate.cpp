// The generation loop: prompt, then sample -> report -> evaluate until a stop.
// Each token is evaluated before the loop checks whether to stop, so the context
// always holds every token returned and a later call continues the text.
#include <string>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"

using hmoe::api::ApiError;
using hmoe::api::guarded;
using hmoe::api::require;

extern "C" {

hmoe_status hmoe_generate(hmoe_session* session, const int32_t* prompt, size_t n_prompt,
                          const hmoe_generate_params* params, int32_t* out_tokens, size_t out_capacity,
                          hmoe_generate_result* out_result) {
  return guarded(__func__, [&] {
    require(session, "session");
    require(out_result, "out_result");
    hmoe_generate_params p;
    hmoe::api::read_params(params, hmoe_generate_default_params, &p);
    const bool stop_at_eos = hmoe::api::bool_field(p.stop_at_eos, "stop_at_eos");
    if (p.max_tokens < 0)
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "max_tokens is " + std::to_string(p.max_tokens) + ", must be >= 0");
    if (out_tokens && out_capacity < static_cast<size_t>(p.max_tokens))
      throw ApiError(HMOE_ERR_BUFFER_TOO_SMALL, "out_tokens holds " + std::to_string(out_capacity) +
                                                    " ids, max_tokens is " + std::to_string(p.max_tokens));
    hmoe_session& s = *session;
    *out_result = hmoe_generate_result{0, HMOE_STOP_MAX_TOKENS};
    if (n_prompt > 0) {
      hmoe::api::evaluate(s, prompt, n_prompt, nullptr);
    } else if (!s.has_logits && p.max_tokens > 0) {
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "the prompt is empty and the session has no logits to continue from");
    }
    const int32_t eos = s.tokenizer ? s.tokenizer->eos_id() : -1;
    hmoe_generate_result& r = *out_result;
    while (r.n_tokens < static_cast<size_t>(p.max_tokens)) {
      if (s.core.n_past() >= s.core.n_ctx()) {
        r.stop_reason = HMOE_STOP_CONTEXT_FULL;
        return;
      }
      const int32_t token =
          s.sampler.sample(s.logits.data(), s.logits.size(), s.tokens.data(), s.tokens.size());
      if (stop_at_eos && token == eos) {
        r.stop_reason = HMOE_STOP_EOS;
        return;
      }
      if (out_tokens) out_tokens[r.n_tokens] = token;
      ++r.n_tokens;
      bool go_on = true;
      if (p.on_token) {
        // The piece is the token's raw bytes; ids beyond the tokenizer's vocabulary
        // (a model may have more rows than tokens) have none.
        const bool has_piece = s.tokenizer && token < s.tokenizer->vocab_size();
        const std::string* piece = has_piece ? &s.tokenizer->token_bytes(token) : nullptr;
        go_on = p.on_token(p.user_data, token, piece ? piece->data() : nullptr, piece ? piece->size() : 0);
      }
      hmoe::api::evaluate(s, &token, 1, nullptr);
      if (!go_on) {
        r.stop_reason = HMOE_STOP_CALLBACK;
        return;
      }
    }
    r.stop_reason = HMOE_STOP_MAX_TOKENS;
  });
}

}  // extern "C"
