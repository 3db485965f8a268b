// The generation loop: prompt, then sample -> report -> evaluate until a stop. The one
// loop of the project: `hmoe run` (and its interactive mode) uses it through the C++ API.
// Each token is evaluated before the loop checks whether to stop, so the context
// always holds every token returned and a later call continues the text.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"

using hmoe::api::ApiError;
using hmoe::api::guarded;
using hmoe::api::require;

namespace {

// The stop strings of one call, checked against the bytes generated so far.
class StopStrings {
 public:
  StopStrings(const char* const* strings, size_t n) {
    if (n > 0) require(strings, "stop_strings");
    for (size_t i = 0; i < n; ++i) {
      if (!strings[i]) throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "stop_strings[" + std::to_string(i) + "] is NULL");
      if (!*strings[i]) throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "stop_strings[" + std::to_string(i) + "] is empty");
      stops_.emplace_back(strings[i]);
      longest_ = std::max(longest_, stops_.back().size());
    }
  }
  bool empty() const { return stops_.empty(); }

  // Appends a token's bytes; true when a stop string now ends inside them.
  bool append(const std::string& piece) {
    text_ += piece;
    bool hit = false;
    for (const std::string& s : stops_) {
      // Occurrences that end before this piece were found by an earlier call.
      const size_t reach = piece.size() + s.size() - 1;
      const size_t from = text_.size() > reach ? text_.size() - reach : 0;
      if (text_.find(s, from) != std::string::npos) hit = true;
    }
    // Only the last longest - 1 bytes can still begin a match.
    if (text_.size() > longest_) text_.erase(0, text_.size() - (longest_ - 1));
    return hit;
  }

 private:
  std::vector<std::string> stops_;
  size_t longest_ = 0;
  std::string text_;
};

// Makes room for `need` more tokens by dropping tokens after the first n_keep (at least
// the oldest half of them) and evaluating what is kept again, followed by `then` (a
// prompt, or nothing). False, with nothing changed, when no shift can make room.
bool shift_context(hmoe_session& s, size_t n_keep, const int32_t* then, size_t n_then) {
  const size_t n_past = s.tokens.size(), n_ctx = static_cast<size_t>(s.core.n_ctx());
  const size_t need = std::max<size_t>(n_then, 1);
  const size_t keep = std::min(n_keep, n_past);
  if (keep + need > n_ctx) return false;
  const size_t room = n_ctx - n_past;
  size_t discard = std::max((n_past - keep) / 2, need > room ? need - room : 0);
  discard = std::min(discard, n_past - keep);
  const size_t n_again = n_past - keep - discard;
  // Continuing without a prompt needs logits, so at least one token must be evaluated.
  if (n_again == 0 && n_then == 0) return false;
  // The prompt's ids are checked now: once the context is cut, a refusal could not undo it.
  const int64_t vocab = s.model->hparams().vocab_size;
  for (size_t i = 0; i < n_then; ++i)
    if (then[i] < 0 || then[i] >= vocab)
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "token id " + std::to_string(then[i]) + " at position " +
                                                    std::to_string(i) + " is outside the vocabulary [0, " +
                                                    std::to_string(vocab) + ")");
  std::vector<int32_t> again(n_again + n_then);
  std::copy_n(s.tokens.data() + keep + discard, n_again, again.data());
  std::copy_n(then, n_then, again.data() + n_again);
  s.core.truncate(static_cast<int64_t>(keep));
  s.tokens.resize(keep);
  s.has_logits = false;
  hmoe::api::evaluate(s, again.data(), again.size(), nullptr);
  return true;
}

}  // namespace

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
    const bool ignore_eos = hmoe::api::bool_field(p.ignore_eos, "ignore_eos");
    const bool context_shift = hmoe::api::bool_field(p.context_shift, "context_shift");
    if (p.max_tokens < 0)
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "max_tokens is " + std::to_string(p.max_tokens) + ", must be >= 0");
    if (p.n_keep < 0)
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "n_keep is " + std::to_string(p.n_keep) + ", must be >= 0");
    if (out_tokens && out_capacity < static_cast<size_t>(p.max_tokens))
      throw ApiError(HMOE_ERR_BUFFER_TOO_SMALL, "out_tokens holds " + std::to_string(out_capacity) +
                                                    " ids, max_tokens is " + std::to_string(p.max_tokens));
    hmoe_session& s = *session;
    StopStrings stops(p.stop_strings, p.n_stop_strings);
    if (!stops.empty() && !s.tokenizer)
      throw ApiError(HMOE_ERR_UNSUPPORTED, "stop strings need a tokenizer, and this model has none");
    if (n_prompt > 0) require(prompt, "prompt");
    *out_result = hmoe_generate_result{0, HMOE_STOP_MAX_TOKENS};
    const size_t n_keep = static_cast<size_t>(p.n_keep);
    // An encoder-decoder answers its encoded input from the decoder's start token.
    const int32_t start = static_cast<int32_t>(s.model->hparams().decoder_start_token_id);
    if (n_prompt == 0 && s.core.encoder_decoder() && s.core.n_past() == 0 && s.core.n_encoded() > 0) {
      prompt = &start;
      n_prompt = 1;
    }
    if (n_prompt > 0) {
      const size_t room = static_cast<size_t>(s.core.n_ctx() - s.core.n_past());
      if (!(context_shift && n_prompt > room && shift_context(s, n_keep, prompt, n_prompt)))
        hmoe::api::evaluate(s, prompt, n_prompt, nullptr);  // CONTEXT_FULL when it does not fit
    } else if (!s.has_logits && p.max_tokens > 0) {
      throw ApiError(HMOE_ERR_INVALID_ARGUMENT, "the prompt is empty and the session has no logits to continue from");
    }
    // The end-of-sequence id: the tokenizer's, or the file's tokenizer table's for a
    // model that takes ids only (a Switch file keeps T5's eos without its SentencePiece).
    const int32_t eos = s.tokenizer ? s.tokenizer->eos_id() : s.model->file().header().tokenizer.eos_id;
    const bool mask_eos = ignore_eos && eos >= 0 && static_cast<size_t>(eos) < s.logits.size();
    hmoe_generate_result& r = *out_result;
    while (r.n_tokens < static_cast<size_t>(p.max_tokens)) {
      if (p.cancel && *p.cancel) {
        r.stop_reason = HMOE_STOP_CANCELLED;
        return;
      }
      if (s.core.n_past() >= s.core.n_ctx() && !(context_shift && shift_context(s, n_keep, nullptr, 0))) {
        r.stop_reason = HMOE_STOP_CONTEXT_FULL;
        return;
      }
      float saved = 0;
      if (mask_eos) {
        saved = s.logits[eos];
        s.logits[eos] = -std::numeric_limits<float>::infinity();
      }
      int32_t token;
      try {
        token = s.sampler.sample(s.logits.data(), s.logits.size(), s.tokens.data(), s.tokens.size());
      } catch (...) {
        if (mask_eos) s.logits[eos] = saved;
        throw;
      }
      if (mask_eos) s.logits[eos] = saved;
      if (stop_at_eos && token == eos) {
        r.stop_reason = HMOE_STOP_EOS;
        return;
      }
      if (out_tokens) out_tokens[r.n_tokens] = token;
      ++r.n_tokens;
      // The piece is the token's raw bytes; ids beyond the tokenizer's vocabulary
      // (a model may have more rows than tokens) have none.
      const bool has_piece = s.tokenizer && token < s.tokenizer->vocab_size();
      const std::string* piece = has_piece ? &s.tokenizer->token_bytes(token) : nullptr;
      bool go_on = true;
      if (p.on_token)
        go_on = p.on_token(p.user_data, token, piece ? piece->data() : nullptr, piece ? piece->size() : 0);
      hmoe::api::evaluate(s, &token, 1, nullptr);
      if (!go_on) {
        r.stop_reason = HMOE_STOP_CALLBACK;
        return;
      }
      if (!stops.empty() && piece && stops.append(*piece)) {
        r.stop_reason = HMOE_STOP_STRING;
        return;
      }
    }
    r.stop_reason = HMOE_STOP_MAX_TOKENS;
  });
}

}  // extern "C"
