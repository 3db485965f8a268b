// Picks the next token from a row of logits: greedy, temperature, top-k, top-p and a
// repetition penalty, with our own seeded generator (rng.h).
//
// Order, as Hugging Face's generate() applies them:
//   repetition penalty -> temperature -> top-k -> top-p -> draw.
// The penalty follows the CTRL paper as llama.cpp and HF implement it: for each
// distinct token among the last penalty_last_n of the history, a positive logit is
// divided by the penalty and a negative one multiplied by it.
// Greedy (temperature 0, or top_k 1) returns the highest logit, the lowest id among
// equal ones, and draws no random number.
//
// Determinism: candidates are ordered by (logit descending, id ascending), weights are
// exp() in double precision, sums run in a fixed order, and the draw is one 53-bit
// uniform number; nothing depends on threads or the standard library's <random>.
// The same seed and logits give the same tokens on every machine whose exp() is
// accurate to an ulp or so (every mainstream libm): a different result needs the draw
// to land within ~1e-16 of a boundary between two tokens.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/error.h"
#include "runtime/text/rng.h"

namespace hmoe::text {

struct SamplerParams {
  float temperature = 1.0f;         // >= 0; 0 is greedy
  int32_t top_k = 0;                // >= 0; 0 keeps every token
  float top_p = 1.0f;               // (0, 1]; the smallest set of tokens holding this much probability
  float repetition_penalty = 1.0f;  // > 0; 1 is off, > 1 discourages repeats
  int32_t penalty_last_n = 64;      // how much of the history the penalty sees; -1: all of it
  uint64_t seed = 0;
};

// Throws hmoe::Error (Status::InvalidArgument) naming the field and its value.
void validate_sampler_params(const SamplerParams& params);

class Sampler {
 public:
  // Validates `params` (hmoe::Error, InvalidArgument).
  explicit Sampler(const SamplerParams& params);

  // `history`: the tokens so far (prompt and generated), oldest first; only the
  // repetition penalty reads it. Throws hmoe::Error (InvalidArgument) for an empty vocabulary,
  // a NaN or +inf logit, logits that are all -inf, or a history id outside the
  // vocabulary, naming the value.
  int32_t sample(const float* logits, size_t n_vocab, const int32_t* history = nullptr, size_t n_history = 0);
  int32_t sample(const std::vector<float>& logits, const std::vector<int32_t>& history = {}) {
    return sample(logits.data(), logits.size(), history.data(), history.size());
  }

  void reseed(uint64_t seed) { rng_.reseed(seed); }
  const SamplerParams& params() const { return params_; }

 private:
  // Copies the logits into logits_ and penalises them; false (no copy) when the penalty
  // is off or the window empty.
  bool apply_penalty(const float* logits, size_t n_vocab, const int32_t* history, size_t n_history);
  int32_t argmax(size_t n) const;
  // candidates_ = the best k of cur_[0..n), ordered by (logit desc, id asc).
  void select_top_k(size_t n, size_t k);
  // Given candidates_[0..from) already the best `from` in order, makes [0..count) the
  // best `count` ordered by (logit desc, id asc); the rest stays unordered.
  void sort_prefix(size_t from, size_t count);

  SamplerParams params_;
  Rng rng_;
  const float* cur_ = nullptr;        // the logits being sampled: the caller's, or logits_
  std::vector<float> logits_;         // penalised copy
  std::vector<int32_t> candidates_;   // token ids
  std::vector<double> weights_;       // exp((logit - max) / T) by candidate position
  std::vector<double> weights_by_id_; // the same by token id (top-p without top-k)
  std::vector<uint32_t> penalised_;   // stamp per token, so each distinct id is penalised once
  uint32_t stamp_ = 0;
};

}  // namespace hmoe::text
