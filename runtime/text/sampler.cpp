#include "runtime/text/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace hmoe::text {

namespace {
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

void validate_sampler_params(const SamplerParams& p) {
  if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
    throw std::invalid_argument("temperature must be a finite number >= 0 (0 is greedy), got " + num(p.temperature));
  if (p.top_k < 0) throw std::invalid_argument("top_k must be >= 0 (0 is off), got " + std::to_string(p.top_k));
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
    throw std::invalid_argument("top_p must be in (0, 1] (1 is off), got " + num(p.top_p));
  if (!(p.repetition_penalty > 0.0f) || !std::isfinite(p.repetition_penalty))
    throw std::invalid_argument("repetition_penalty must be a finite number > 0 (1 is off), got " +
                                num(p.repetition_penalty));
  if (p.penalty_last_n < -1)
    throw std::invalid_argument("penalty_last_n must be >= -1 (-1 is the whole history), got " +
                                std::to_string(p.penalty_last_n));
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
  validate_sampler_params(params_);
}

void Sampler::apply_penalty(const int32_t* history, size_t n_history) {
  const size_t n_vocab = logits_.size();
  size_t window = n_history;
  if (params_.penalty_last_n >= 0) window = std::min(window, static_cast<size_t>(params_.penalty_last_n));
  if (params_.repetition_penalty == 1.0f || window == 0) return;
  if (penalised_.size() != n_vocab) {
    penalised_.assign(n_vocab, 0);
    stamp_ = 0;
  }
  if (++stamp_ == 0) {  // wrapped: old stamps could collide
    std::fill(penalised_.begin(), penalised_.end(), 0);
    stamp_ = 1;
  }
  const float penalty = params_.repetition_penalty;
  for (size_t i = n_history - window; i < n_history; ++i) {
    const int32_t id = history[i];
    if (id < 0 || static_cast<size_t>(id) >= n_vocab)
      throw std::invalid_argument("history token " + std::to_string(id) + " at position " + std::to_string(i) +
                                  " is outside the vocabulary of " + std::to_string(n_vocab));
    if (penalised_[id] == stamp_) continue;
    penalised_[id] = stamp_;
    float& l = logits_[id];
    l = l > 0.0f ? l / penalty : l * penalty;
  }
}

int32_t Sampler::argmax() const {
  int32_t best = 0;
  for (size_t i = 1; i < logits_.size(); ++i)
    if (logits_[i] > logits_[best]) best = static_cast<int32_t>(i);
  return best;
}

void Sampler::sort_prefix(size_t count) {
  const auto before = [this](int32_t a, int32_t b) {
    return logits_[a] != logits_[b] ? logits_[a] > logits_[b] : a < b;
  };
  if (count >= candidates_.size()) {
    std::sort(candidates_.begin(), candidates_.end(), before);
  } else {
    std::partial_sort(candidates_.begin(), candidates_.begin() + count, candidates_.end(), before);
  }
}

int32_t Sampler::sample(const float* logits, size_t n_vocab, const int32_t* history, size_t n_history) {
  if (n_vocab == 0) throw std::invalid_argument("cannot sample from an empty vocabulary");
  if (n_vocab > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw std::invalid_argument("vocabulary of " + std::to_string(n_vocab) + " tokens is too large");
  if (n_history > 0 && history == nullptr) throw std::invalid_argument("history is null but its length is not 0");
  for (size_t i = 0; i < n_vocab; ++i)
    if (std::isnan(logits[i]) || logits[i] == std::numeric_limits<float>::infinity())
      throw std::invalid_argument("logit of token " + std::to_string(i) + " is " + num(logits[i]));
  logits_.assign(logits, logits + n_vocab);
  apply_penalty(history, n_history);

  const int32_t best = argmax();
  const float max_logit = logits_[best];
  if (max_logit == -std::numeric_limits<float>::infinity())
    throw std::invalid_argument("every logit is -inf: no token can be sampled");
  if (params_.temperature == 0.0f || params_.top_k == 1) return best;

  // Candidates: every token, or the top k in order.
  size_t count = n_vocab;
  candidates_.resize(n_vocab);
  for (size_t i = 0; i < n_vocab; ++i) candidates_[i] = static_cast<int32_t>(i);
  bool sorted = false;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n_vocab) {
    count = static_cast<size_t>(params_.top_k);
    sort_prefix(count);
    sorted = true;
  }

  const double inv_t = 1.0 / static_cast<double>(params_.temperature);
  weights_.resize(count);
  double total = 0.0;
  for (size_t i = 0; i < count; ++i) {
    const int32_t id = candidates_[i];
    weights_[i] = std::exp((static_cast<double>(logits_[id]) - max_logit) * inv_t);
    total += weights_[i];
  }

  if (params_.top_p < 1.0f) {
    // Keep the most likely tokens until they hold top_p of the probability (the token
    // that crosses the line stays). Without top-k, sort only as far as needed: the
    // first few hundred tokens usually hold it.
    const double target = static_cast<double>(params_.top_p) * total;
    size_t sorted_upto = sorted ? count : 0;
    double cum = 0.0;
    size_t keep = 0;
    while (keep < count) {
      if (keep == sorted_upto) {
        // The sorted prefix grows; its first `keep` entries (the top tokens, in a strict
        // order) stay where they are, so only the new part needs its weights.
        sorted_upto = std::min(count, std::max<size_t>(256, sorted_upto * 4));
        sort_prefix(sorted_upto);
        for (size_t i = keep; i < sorted_upto; ++i)
          weights_[i] = std::exp((static_cast<double>(logits_[candidates_[i]]) - max_logit) * inv_t);
      }
      cum += weights_[keep++];
      if (cum >= target) break;
    }
    count = keep;
    total = cum;
  }

  const double u = rng_.next_double() * total;
  double cum = 0.0;
  for (size_t i = 0; i < count; ++i) {
    cum += weights_[i];
    if (u < cum) return candidates_[i];
  }
  // Rounding left u at or past the last boundary: the last candidate with any weight.
  for (size_t i = count; i-- > 0;)
    if (weights_[i] > 0.0) return candidates_[i];
  return best;
}

}  // namespace hmoe::text
