// The synthetic-model spec parser names what is wrong; the builder is deterministic.
#include <doctest/doctest.h>

#include <stdexcept>

#include "hyper_test_util.h"

using namespace hmoe;
using namespace hmoe::test;

TEST_CASE("synthetic spec: defaults are GPT-2-small dims, keys override them") {
  const SyntheticSpec def = parse_synthetic_spec("");
  CHECK(def.d == 768);
  CHECK(def.L == 12);
  CHECK(def.n_head() == 12);
  const SyntheticSpec s = parse_synthetic_spec("d=128,L=3,N=16,k=2,b=32,H=64,V=1000,dtype=bf16,seed=5");
  CHECK(s.d == 128);
  CHECK(s.L == 3);
  CHECK(s.N == 16);
  CHECK(s.k == 2);
  CHECK(s.b == 32);
  CHECK(s.H == 64);
  CHECK(s.V == 1000);
  CHECK(s.n_head() == 2);
  CHECK(s.dtype == DType::BF16);
  CHECK(s.seed == 5);
  CHECK(parse_synthetic_spec(s.to_string()).to_string() == s.to_string());
}

TEST_CASE("synthetic spec: bad items are named") {
  CHECK_THROWS_WITH_AS(parse_synthetic_spec("d=768,zz=3"), doctest::Contains("unknown key 'zz'"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_synthetic_spec("N=abc"), doctest::Contains("N=abc"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_synthetic_spec("k"), doctest::Contains("'k' is not key=value"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_synthetic_spec("N=8,k=9"), doctest::Contains("top_k"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_synthetic_spec("dtype=q3"), doctest::Contains("q3"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_synthetic_spec("d=100,heads=3"), doctest::Contains("n_head"), std::invalid_argument);
}

TEST_CASE("synthetic models are deterministic for a seed") {
  const SyntheticSpec spec = tiny_spec(8, 2);
  auto a = make_synthetic_model(spec), b = make_synthetic_model(spec);
  const std::vector<int32_t> prompt = prompt_ids(10, spec.V, 2);
  CHECK(rel_diff(run_logits(a, HyperMode::Table, prompt, 2), run_logits(b, HyperMode::Table, prompt, 2), spec.V) ==
        0.0);
  SyntheticSpec other = spec;
  other.seed += 1;
  auto c = make_synthetic_model(other);
  CHECK(rel_diff(run_logits(a, HyperMode::Table, prompt, 2), run_logits(c, HyperMode::Table, prompt, 2), spec.V) >
        1e-3);
}
