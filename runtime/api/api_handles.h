// What the C API's opaque handles hold. Both keep the C++ model by shared_ptr, so a
// session outlives hmoe_model_free of the handle it was made from.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/api/hypermoe.h"
#include "runtime/model/model.h"
#include "runtime/model/session.h"
#include "runtime/text/bpe_tokenizer.h"
#include "runtime/text/sampler.h"

struct hmoe_model {
  std::shared_ptr<const hmoe::Model> model;          // null when loaded vocab_only
  std::shared_ptr<const hmoe::ModelFile> vocab_file;  // the file, when loaded vocab_only
  hmoe::HParams hparams;                              // checked, either way
  std::shared_ptr<const hmoe::text::BpeTokenizer> tokenizer;  // null: ids only
  double load_seconds = 0, hyper_fill_seconds = 0;           // hmoe_model_get_load_stats

  const hmoe::ModelFile& file() const { return model ? model->file() : *vocab_file; }
};

struct hmoe_session {
  hmoe_session(const hmoe_model& m, const hmoe::SessionOptions& options, const hmoe::text::SamplerParams& sampling)
      : model(m.model), tokenizer(m.tokenizer), core(m.model, options), sampler(sampling) {}

  std::shared_ptr<const hmoe::Model> model;
  std::shared_ptr<const hmoe::text::BpeTokenizer> tokenizer;
  hmoe::Session core;
  hmoe::text::Sampler sampler;
  // The context's tokens, oldest first: the repetition penalty's history. Reserved to
  // n_ctx at creation so appending never allocates after an eval has succeeded.
  std::vector<int32_t> tokens;
  // The last token's logits, and a second buffer an eval fills before the swap, so a
  // failed eval leaves the previous logits as they were.
  std::vector<float> logits, next_logits;
  bool has_logits = false;
};

namespace hmoe::api {

// Conversions between the C params and the C++ options; both validate and throw
// ApiError(HMOE_ERR_INVALID_ARGUMENT) naming the field, its value and its range.
text::SamplerParams sampler_params_from(const hmoe_sampling_params& p);
void check_threads(int32_t n_threads, const char* field);

}  // namespace hmoe::api

namespace hmoe::api {

// Runs `ids` after the context (see hmoe_session_eval), writing every position's
// logits to `all_logits` ([n, n_vocab]) when it is not null. Checks first, so a
// refusal changes nothing.
void evaluate(hmoe_session& s, const int32_t* ids, size_t n, float* all_logits);

}  // namespace hmoe::api
