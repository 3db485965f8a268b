#include "runtime/text/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "formats/error.h"

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
    throw Error(Status::InvalidArgument, "temperature must be a finite number >= 0 (0 is greedy), got " + num(p.temperature));
  if (p.top_k < 0) throw Error(Status::InvalidArgument, "top_k must be >= 0 (0 is off), got " + std::to_string(p.top_k));
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
    throw Error(Status::InvalidArgument, "top_p must be in (0, 1] (1 is off), got " + num(p.top_p));
  if (!(p.repetition_penalty > 0.0f) || !std::isfinite(p.repetition_penalty))
    throw Error(Status::InvalidArgument, "repetition_penalty must be a finite number > 0 (1 is off), got " +
                                num(p.repetition_penalty));
  if (p.penalty_last_n < -1)
    throw Error(Status::InvalidArgument, "penalty_last_n must be >= -1 (-1 is the whole history), got " +
                                std::to_string(p.penalty_last_n));
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
  validate_sampler_params(params_);
}

bool Sampler::apply_penalty(const float* logits, size_t n_vocab, const int32_t* history, size_t n_history) {
  size_t window = n_history;
  if (params_.penalty_last_n >= 0) window = std::min(window, static_cast<size_t>(params_.penalty_last_n));
  if (params_.repetition_penalty == 1.0f || window == 0) return false;
  logits_.assign(logits, logits + n_vocab);
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
      throw Error(Status::InvalidArgument, "history token " + std::to_string(id) + " at position " + std::to_string(i) +
                                  " is outside the vocabulary of " + std::to_string(n_vocab));
    if (penalised_[id] == stamp_) continue;
    penalised_[id] = stamp_;
    float& l = logits_[id];
    l = l > 0.0f ? l / penalty : l * penalty;
  }
  return true;
}

int32_t Sampler::argmax(size_t n) const {
  // The running maximum stays in a register; the first index wins ties.
  int32_t best = 0;
  float best_value = cur_[0];
  for (size_t i = 1; i < n; ++i)
    if (cur_[i] > best_value) {
      best_value = cur_[i];
      best = static_cast<int32_t>(i);
    }
  return best;
}

void Sampler::select_top_k(size_t n, size_t k) {
  // One pass with a heap of the k best so far, its worst on top: after the first few
  // thousand tokens a newcomer rarely beats the worst, so this is a compare per token.
  const auto before = [this](int32_t a, int32_t b) { return cur_[a] != cur_[b] ? cur_[a] > cur_[b] : a < b; };
  candidates_.clear();
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = static_cast<int32_t>(i);
    if (candidates_.size() < k) {
      candidates_.push_back(id);
      std::push_heap(candidates_.begin(), candidates_.end(), before);
    } else if (before(id, candidates_.front())) {
      std::pop_heap(candidates_.begin(), candidates_.end(), before);
      candidates_.back() = id;
      std::push_heap(candidates_.begin(), candidates_.end(), before);
    }
  }
  std::sort(candidates_.begin(), candidates_.end(), before);
}

void Sampler::sort_prefix(size_t from, size_t count) {
  const auto before = [this](int32_t a, int32_t b) { return cur_[a] != cur_[b] ? cur_[a] > cur_[b] : a < b; };
  // Select the next `count - from` best of the unsorted tail (linear), then sort only them:
  // cheaper than partial_sort's heap when the prefix grows large.
  const auto first = candidates_.begin() + static_cast<std::ptrdiff_t>(from);
  const auto mid = candidates_.begin() + static_cast<std::ptrdiff_t>(count);
  if (mid < candidates_.end()) std::nth_element(first, mid, candidates_.end(), before);
  std::sort(first, mid, before);
}

int32_t Sampler::sample(const float* logits, size_t n_vocab, const int32_t* history, size_t n_history) {
  if (n_vocab == 0) throw Error(Status::InvalidArgument, "cannot sample from an empty vocabulary");
  if (n_vocab > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw Error(Status::InvalidArgument, "vocabulary of " + std::to_string(n_vocab) + " tokens is too large");
  if (n_history > 0 && history == nullptr) throw Error(Status::InvalidArgument, "history is null but its length is not 0");
  for (size_t i = 0; i < n_vocab; ++i)
    if (std::isnan(logits[i]) || logits[i] == std::numeric_limits<float>::infinity())
      throw Error(Status::InvalidArgument, "logit of token " + std::to_string(i) + " is " + num(logits[i]));
  // Work on the caller's logits in place unless the penalty needs a modified copy.
  cur_ = apply_penalty(logits, n_vocab, history, n_history) ? logits_.data() : logits;

  const int32_t best = argmax(n_vocab);
  const float max_logit = cur_[best];
  if (max_logit == -std::numeric_limits<float>::infinity())
    throw Error(Status::InvalidArgument, "every logit is -inf: no token can be sampled");
  if (params_.temperature == 0.0f || params_.top_k == 1) return best;

  // Candidates: the top k in order, or every token in id order.
  size_t count = n_vocab;
  bool sorted = false;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n_vocab) {
    count = static_cast<size_t>(params_.top_k);
    select_top_k(n_vocab, count);
    sorted = true;
  } else {
    candidates_.resize(n_vocab);
    for (size_t i = 0; i < n_vocab; ++i) candidates_[i] = static_cast<int32_t>(i);
  }

  const double inv_t = 1.0 / static_cast<double>(params_.temperature);
  weights_.resize(count);
  double total = 0.0;
  for (size_t i = 0; i < count; ++i) {
    const int32_t id = candidates_[i];
    weights_[i] = std::exp((static_cast<double>(cur_[id]) - max_logit) * inv_t);
    total += weights_[i];
  }

  if (params_.top_p < 1.0f) {
    // Keep the most likely tokens until they hold top_p of the probability (the token
    // that crosses the line stays). Without top-k, sort only as far as needed: the
    // first few hundred tokens usually hold it.
    const double target = static_cast<double>(params_.top_p) * total;
    size_t sorted_upto = sorted ? count : 0;
    if (!sorted) weights_by_id_.swap(weights_);  // weights_ was in id order; keep it to look up
    double cum = 0.0;
    size_t keep = 0;
    while (keep < count) {
      if (keep == sorted_upto) {
        // The sorted prefix grows; its entries (the top tokens, in a strict order) stay
        // where they are, so only the new part needs sorting and weights.
        const size_t from = sorted_upto;
        sorted_upto = std::min(count, std::max<size_t>(256, sorted_upto * 4));
        sort_prefix(from, sorted_upto);
        weights_.resize(sorted_upto);
        for (size_t i = from; i < sorted_upto; ++i) weights_[i] = weights_by_id_[candidates_[i]];
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
