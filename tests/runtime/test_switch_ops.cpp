// The Switch Transformer's own operations: T5's relative position buckets, the RMS norm,
// the top-1 router with its expert capacity, and attention with a position bias.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "runtime/model/ops/attention.h"
#include "runtime/model/ops/norms.h"
#include "runtime/model/ops/router.h"

using namespace hmoe;

namespace {

// The bucket tables of the authors' code for 32 buckets and max distance 128, as
// (first distance, bucket) runs: distance d falls in the last run starting at or before it.
struct Run {
  int64_t from, bucket;
};
int64_t from_runs(const std::vector<Run>& runs, int64_t n) {
  int64_t b = -1;
  for (const Run& r : runs)
    if (n >= r.from) b = r.bucket;
  return b;
}

}  // namespace

TEST_CASE("T5 relative position buckets: the authors' tables, power-of-two boundaries exact in f32") {
  const PositionBias enc{nullptr, 32, 128, true}, dec{nullptr, 32, 128, false};
  // Bidirectional, key before the query (n = query - key).
  const std::vector<Run> before = {{8, 8}, {12, 9}, {16, 10}, {23, 11}, {32, 12}, {46, 13}, {64, 14}, {91, 15}};
  // Causal (n = query - key); later keys all fall in bucket 0.
  const std::vector<Run> causal = {{16, 16}, {19, 17}, {21, 18}, {24, 19}, {27, 20}, {31, 21}, {35, 22}, {40, 23},
                                   {46, 24}, {52, 25}, {59, 26}, {67, 27}, {77, 28}, {87, 29}, {99, 30}, {113, 31}};
  for (int64_t n = 0; n <= 300; ++n) {
    const int64_t want_before = n < 8 ? n : from_runs(before, n);
    CHECK_MESSAGE(relative_position_bucket(-n, enc) == want_before, "bidirectional, key " << n << " before");
    if (n > 0) CHECK_MESSAGE(relative_position_bucket(n, enc) == 16 + want_before, "bidirectional, key " << n << " after");
    const int64_t want_causal = n < 16 ? n : from_runs(causal, n);
    CHECK_MESSAGE(relative_position_bucket(-n, dec) == want_causal, "causal, key " << n << " before");
    CHECK(relative_position_bucket(n, dec) == 0);
  }
}

TEST_CASE("RMS norm: w * x / sqrt(mean(x^2) + eps), no mean, no bias") {
  const std::vector<float> x = {1, -2, 3, -4}, w = {1, 2, 1, 0.5f};
  std::vector<float> y(4);
  rms_norm(x.data(), 1, 4, w.data(), 1e-6f, y.data());
  const double inv = 1 / std::sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
  for (int i = 0; i < 4; ++i) CHECK(y[i] == doctest::Approx(w[i] * x[i] * inv).epsilon(1e-6));
}

TEST_CASE("top-1 router: argmax, pmax as the gate, capacity over the call in position order") {
  // 5 tokens, 3 experts; tokens 0, 1, 3 pick expert 2, token 2 expert 0, token 4 expert 2.
  const std::vector<float> logits = {0, 1, 3,  0, 0, 2,  5, 1, 1,  1, 0, 4,  0, 0, 1};
  Routing r;
  route_tokens_top1_capacity(logits.data(), 5, 3, /*capacity=*/2, r);
  const std::vector<uint64_t> patterns(r.patterns.begin(), r.patterns.begin() + 5);
  CHECK(patterns == std::vector<uint64_t>{2, 2, 0, 2, 2});  // the argmax, dropped or not
  const std::vector<int32_t> experts(r.experts.begin(), r.experts.begin() + 5);
  CHECK(experts == std::vector<int32_t>{2, 2, 0, -1, -1});  // the third and fourth of expert 2 are over capacity
  const double p0 = std::exp(3.0) / (1 + std::exp(1.0) + std::exp(3.0));
  CHECK(r.gates[0] == doctest::Approx(p0).epsilon(1e-6));  // not renormalised: pmax < 1
  const double p3 = std::exp(4.0) / (std::exp(1.0) + 1 + std::exp(4.0));
  CHECK(r.gates[3] == doctest::Approx(p3).epsilon(1e-6));  // a dropped token keeps its gate (its pass-through scale)
  // Ties go to the first expert.
  const std::vector<float> tie = {2, 2, 1};
  route_tokens_top1_capacity(tie.data(), 1, 3, 1, r);
  CHECK(r.experts[0] == 0);
}

TEST_CASE("attention with a position bias adds the bias of each head's bucket before the softmax") {
  // One head of width 1, two keys with the same score: the bias alone decides the weights.
  const float q[1] = {1.f}, k[2] = {1.f, 1.f}, v[2] = {10.f, 20.f};
  const float table[32] = {0};  // [32 buckets, 1 head]
  std::vector<float> t(table, table + 32);
  t[1] = std::log(3.f);  // bucket 1: key 1 before the query (causal)
  const PositionBias pb{t.data(), 32, 128, false};
  float out = 0;
  attend(q, 1, 1, /*q_pos0=*/1, KvView{k, v, 1, 1}, 2, /*causal=*/true, AttentionHeads{1, 1, 1.f}, &pb, &out, 1);
  // Key 0 is one position back (bucket 1, weight 3), key 1 is the query's own (bucket 0, weight 1).
  CHECK(out == doctest::Approx((3 * 10.f + 1 * 20.f) / 4));
}
