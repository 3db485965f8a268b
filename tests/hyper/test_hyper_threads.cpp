// Sessions on many threads sharing one model (and its cache) produce what each produces
// alone, whether the cache was filled at load or evicts on every other lookup.
#include <doctest/doctest.h>

#include <thread>

#include "hyper_test_util.h"

using namespace hmoe;
using namespace hmoe::test;

namespace {

void check_threads_match_alone(const std::shared_ptr<const Model>& model, int n_threads) {
  const int64_t V = model->hparams().vocab_size;
  std::vector<std::vector<int32_t>> prompts, alone(n_threads), together(n_threads);
  for (int i = 0; i < n_threads; ++i) prompts.push_back(prompt_ids(6 + i % 5, V, 1000 + i));
  for (int i = 0; i < n_threads; ++i) alone[i] = greedy(model, HyperMode::Table, prompts[i], 8);
  std::vector<std::thread> threads;
  for (int i = 0; i < n_threads; ++i)
    threads.emplace_back([&, i] {
      // Several rounds so lookups, misses and evictions interleave.
      for (int round = 0; round < 3; ++round) {
        std::vector<int32_t> got = greedy(model, HyperMode::Table, prompts[i], 8);
        if (round == 0) together[i] = got;
        else if (got != together[i]) together[i].clear();
      }
    });
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < n_threads; ++i) {
    CAPTURE(i);
    CHECK(together[i] == alone[i]);
  }
}

}  // namespace

TEST_CASE("sessions on parallel threads match sessions alone: precomputed cache") {
  auto model = make_synthetic_model(tiny_spec(8, 2), cache_options(64ull << 20));
  REQUIRE(model->hyper_cache()->mode() == HyperCacheMode::Precomputed);
  check_threads_match_alone(model, 6);
}

TEST_CASE("sessions on parallel threads match sessions alone: tiny on-demand cache") {
  const SyntheticSpec spec = tiny_spec(16, 2);
  auto model = make_synthetic_model(spec, cache_options(2 * entry_bytes(spec)));
  REQUIRE(model->hyper_cache()->mode() == HyperCacheMode::OnDemand);
  check_threads_match_alone(model, 6);
  CHECK(model->hyper_cache()->stats().evictions > 0);
}

TEST_CASE("sessions on parallel threads match sessions alone: sharded on-demand cache") {
  const SyntheticSpec spec = tiny_spec(16, 2);
  // Room for half the patterns: several shards, steady eviction.
  auto model = make_synthetic_model(spec, cache_options(120 * entry_bytes(spec), /*precompute=*/false));
  const HyperCacheStats s = model->hyper_cache()->stats();
  REQUIRE(s.mode == HyperCacheMode::OnDemand);
  CHECK(s.shards > 1);
  check_threads_match_alone(model, 6);
}

TEST_CASE("the thread count does not change HyperMoE's logits") {
  for (DType dt : {DType::F32, DType::Q8_0}) {
    CAPTURE(dtype_name(dt));
    const SyntheticSpec spec = tiny_spec(4, 1, dt);  // few patterns: big groups, run in parallel
    auto model = make_synthetic_model(spec, cache_options(64ull << 20));
    const std::vector<int32_t> prompt = prompt_ids(40, spec.V, 21);
    for (HyperMode mode : {HyperMode::Table, HyperMode::PerToken}) {
      const std::vector<float> one = run_logits(model, mode, prompt, 3, 1);
      CHECK(rel_diff(one, run_logits(model, mode, prompt, 3, 2), spec.V) == 0.0);
      CHECK(rel_diff(one, run_logits(model, mode, prompt, 3, 3), spec.V) == 0.0);
    }
  }
}

TEST_CASE("the thread count does not change the logits when a HyperExpert's rows are split over threads") {
  // d * b large enough that a single token's HyperExpert is applied by several threads.
  for (DType dt : {DType::F32, DType::Q8_0}) {
    CAPTURE(dtype_name(dt));
    SyntheticSpec spec = tiny_spec(3, 1, dt);
    spec.d = 512;
    spec.b = 96;
    spec.L = 1;
    spec.heads = 8;
    auto model = make_synthetic_model(spec, cache_options(64ull << 20));
    const std::vector<int32_t> prompt = prompt_ids(5, spec.V, 17);
    for (HyperMode mode : {HyperMode::Table, HyperMode::PerToken}) {
      const std::vector<float> one = run_logits(model, mode, prompt, 4, 1);
      CHECK(rel_diff(one, run_logits(model, mode, prompt, 4, 2), spec.V) == 0.0);
      CHECK(rel_diff(one, run_logits(model, mode, prompt, 4, 3), spec.V) == 0.0);
    }
  }
}
