// The cache gives the numbers the hypernetwork gives: precomputed and on-demand (with
// eviction) lookups against running the hypernetwork for every token.
#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "hyper_test_util.h"
#include "runtime/model/hyper/selection_pattern.h"

using namespace hmoe;
using namespace hmoe::test;

namespace {

constexpr double kTol = 1e-5;
constexpr int kDecode = 4;

void check_cached_equals_per_token(int64_t N, int64_t k, DType dtype) {
  CAPTURE(N);
  CAPTURE(k);
  CAPTURE(dtype_name(dtype));
  const SyntheticSpec spec = tiny_spec(N, k, dtype);
  auto model = make_synthetic_model(spec, cache_options(64ull << 20));
  REQUIRE(model->hyper_cache() != nullptr);
  const HyperCacheStats before = model->hyper_cache()->stats();
  CHECK(before.mode == HyperCacheMode::Precomputed);
  CHECK(before.dtype == dtype);
  CHECK(before.entries == binomial(N, k) * static_cast<uint64_t>(spec.L));

  const std::vector<int32_t> prompt = prompt_ids(24, spec.V, 7);
  const std::vector<float> cached = run_logits(model, HyperMode::Table, prompt, kDecode);
  const std::vector<float> per_token = run_logits(model, HyperMode::PerToken, prompt, kDecode);
  const std::vector<float> plain = run_logits(model, HyperMode::Off, prompt, kDecode);
  CHECK(rel_diff(per_token, cached, spec.V) <= kTol);
  // Both paths compute each token's HyperExpert with the same operations: not merely
  // close, equal.
  CHECK(rel_diff(per_token, cached, spec.V) == 0.0);
  // The HyperExpert matters: without it the logits move by far more than the tolerance.
  CHECK(rel_diff(per_token, plain, spec.V) > 1e-2);

  const HyperCacheStats after = model->hyper_cache()->stats();
  CHECK(after.misses == 0);
  CHECK(after.hits > 0);
  CHECK(after.evictions == 0);
}

}  // namespace

TEST_CASE("cached HyperExperts give the per-token path's logits (f32)") {
  check_cached_equals_per_token(8, 1, DType::F32);
  check_cached_equals_per_token(8, 2, DType::F32);
  check_cached_equals_per_token(16, 2, DType::F32);
}

TEST_CASE("cached HyperExperts give the per-token path's logits in the model's dtype") {
  // The tables are encoded like the experts; the per-token path encodes the same way.
  check_cached_equals_per_token(8, 2, DType::F16);
  check_cached_equals_per_token(8, 2, DType::BF16);
  check_cached_equals_per_token(8, 2, DType::Q8_0);
  check_cached_equals_per_token(8, 1, DType::Q4_0);
  // Few patterns: groups of many tokens, where linear() would switch paths by batch size.
  check_cached_equals_per_token(3, 1, DType::Q8_0);
  check_cached_equals_per_token(3, 1, DType::F32);
}

TEST_CASE("different patterns get different HyperExperts") {
  auto model = make_synthetic_model(tiny_spec(8, 2), cache_options(64ull << 20));
  const int32_t a[2] = {0, 1}, b[2] = {0, 2};
  HyperHandle ha = model->hyper_cache()->lookup(0, a), hb = model->hyper_cache()->lookup(0, b),
              hc = model->hyper_cache()->lookup(1, a);
  const float* da = static_cast<const float*>(ha.view.down.data);
  const float* db = static_cast<const float*>(hb.view.down.data);
  const float* dc = static_cast<const float*>(hc.view.down.data);
  bool ab = false, ac = false;
  for (int64_t i = 0; i < ha.view.down.rows * ha.view.down.cols; ++i) {
    ab |= da[i] != db[i];
    ac |= da[i] != dc[i];
  }
  CHECK(ab);  // another pattern, same layer
  CHECK(ac);  // same pattern, another layer (the layer embedding differs)
}

TEST_CASE("on demand with a budget of one or two entries gives the precomputed logits, evicting") {
  for (int64_t k : {1, 2}) {
    CAPTURE(k);
    const SyntheticSpec spec = tiny_spec(8, k);
    auto full = make_synthetic_model(spec, cache_options(64ull << 20));
    const std::vector<int32_t> prompt = prompt_ids(20, spec.V, 11);
    const std::vector<float> want = run_logits(full, HyperMode::Table, prompt, kDecode);
    for (uint64_t entries : {1, 2}) {
      CAPTURE(entries);
      auto tiny = make_synthetic_model(spec, cache_options(entries * entry_bytes(spec)));
      HyperCache* cache = tiny->hyper_cache();
      REQUIRE(cache != nullptr);
      CHECK(cache->mode() == HyperCacheMode::OnDemand);
      CHECK(rel_diff(want, run_logits(tiny, HyperMode::Table, prompt, kDecode), spec.V) <= kTol);
      const HyperCacheStats s = cache->stats();
      CHECK(s.capacity_entries == entries);
      CHECK(s.entries <= entries);
      CHECK(s.misses > 0);
      CHECK(s.evictions > 0);
      // Each miss was kept (possibly evicting) or generated for one use only.
      CHECK(s.evictions == s.misses - s.transient - s.entries);
    }
  }
}

TEST_CASE("a full on-demand cache keeps a pattern on its second miss, and lookups stay valid") {
  const SyntheticSpec spec = tiny_spec(16, 2);
  auto full = make_synthetic_model(spec, cache_options(64ull << 20));
  auto tiny = make_synthetic_model(spec, cache_options(2 * entry_bytes(spec)));
  HyperCache* cache = tiny->hyper_cache();
  const int32_t a[2] = {0, 1}, b[2] = {2, 3}, c[2] = {4, 5};
  cache->lookup(0, a);
  cache->lookup(0, b);  // full now
  CHECK(cache->stats().entries == 2);
  HyperHandle once = cache->lookup(0, c);  // first miss of c: generated, not kept
  HyperCacheStats s = cache->stats();
  CHECK(s.transient == 1);
  CHECK(s.evictions == 0);
  // The handle owns its HyperExpert even so: it equals the precomputed one.
  const HyperHandle want = full->hyper_cache()->lookup(0, c);
  CHECK(std::memcmp(once.view.down.data, want.view.down.data, static_cast<size_t>(want.view.down.bytes())) == 0);
  CHECK(std::memcmp(once.view.up_bias, want.view.up_bias, static_cast<size_t>(spec.d) * sizeof(float)) == 0);
  cache->lookup(0, c);  // second miss: kept, evicting the least recently used (a)
  s = cache->stats();
  CHECK(s.transient == 1);
  CHECK(s.evictions == 1);
  CHECK(s.misses == 4);
  cache->lookup(0, c);
  CHECK(cache->stats().hits == 1);
}

TEST_CASE("on demand with room for everything generates each pattern once") {
  const SyntheticSpec spec = tiny_spec(8, 2);
  auto full = make_synthetic_model(spec, cache_options(64ull << 20));
  auto lazy = make_synthetic_model(spec, cache_options(64ull << 20, /*precompute=*/false));
  CHECK(lazy->hyper_cache()->mode() == HyperCacheMode::OnDemand);
  const std::vector<int32_t> prompt = prompt_ids(30, spec.V, 3);
  const std::vector<float> want = run_logits(full, HyperMode::Table, prompt, kDecode);
  CHECK(rel_diff(want, run_logits(lazy, HyperMode::Table, prompt, kDecode), spec.V) <= kTol);
  const HyperCacheStats first = lazy->hyper_cache()->stats();
  CHECK(first.evictions == 0);
  CHECK(first.entries == first.misses);
  // The same text again: every pattern is already there.
  run_logits(lazy, HyperMode::Table, prompt, kDecode);
  const HyperCacheStats again = lazy->hyper_cache()->stats();
  CHECK(again.misses == first.misses);
  CHECK(again.hits > first.hits);
}

TEST_CASE("a budget too small for one HyperExpert is refused with the sizes") {
  const SyntheticSpec spec = tiny_spec(8, 2);
  const uint64_t one = entry_bytes(spec);
  try {
    make_synthetic_model(spec, cache_options(one - 1));
    FAIL("a budget below one entry was accepted");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("cannot hold one HyperExpert") != std::string::npos);
    CHECK(msg.find(std::to_string(one - 1)) != std::string::npos);
    CHECK(msg.find(std::to_string(one)) != std::string::npos);
  }
  CHECK_NOTHROW(make_synthetic_model(spec, cache_options(one)));
}

TEST_CASE("cache stats print as one line") {
  const SyntheticSpec spec = tiny_spec(8, 2);
  auto model = make_synthetic_model(spec, cache_options(3 * entry_bytes(spec)));
  run_logits(model, HyperMode::Table, prompt_ids(10, spec.V, 5), 2);
  const HyperCacheStats s = model->hyper_cache()->stats();
  const std::string line = s.to_string();
  CHECK(line.find("on-demand f32") != std::string::npos);
  CHECK(line.find("misses " + std::to_string(s.misses)) != std::string::npos);
  CHECK(line.find("evictions " + std::to_string(s.evictions)) != std::string::npos);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(s.hit_rate() >= 0.0);
  CHECK(s.hit_rate() <= 1.0);
}

TEST_CASE("plain MoE models have no cache and ignore the HyperExpert mode") {
  SyntheticSpec spec = tiny_spec(8, 2);
  spec.hyper = false;
  auto model = make_synthetic_model(spec, cache_options(64ull << 20));
  CHECK(model->hyper_cache() == nullptr);
  const std::vector<int32_t> prompt = prompt_ids(8, spec.V, 1);
  CHECK(rel_diff(run_logits(model, HyperMode::Table, prompt, 2), run_logits(model, HyperMode::PerToken, prompt, 2),
                 spec.V) == 0.0);
}

TEST_CASE("sessions count the time spent on HyperExperts") {
  const SyntheticSpec spec = tiny_spec(8, 2);
  auto model = make_synthetic_model(spec, cache_options(64ull << 20));
  const std::vector<int32_t> prompt = prompt_ids(16, spec.V, 8);
  std::vector<float> logits(static_cast<size_t>(spec.V));
  for (HyperMode mode : {HyperMode::Off, HyperMode::Table, HyperMode::PerToken}) {
    SessionOptions so;
    so.n_threads = 1;
    so.hyper_mode = mode;
    Session s(model, so);
    s.eval(prompt.data(), static_cast<int64_t>(prompt.size()), logits.data());
    CHECK(s.counters().tokens == prompt.size());
    if (mode == HyperMode::Off) {
      CHECK(s.counters().hyper_seconds == 0.0);
      CHECK(s.counters().hyper_groups == 0);
    } else {
      CHECK(s.counters().hyper_seconds > 0.0);
    }
    if (mode == HyperMode::Table) CHECK(s.counters().hyper_groups > 0);
  }
}
