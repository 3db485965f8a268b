// The Switch Transformer backbone on small synthetic models: its HyperExperts cached,
// per token, on demand and baked give the same numbers; thread counts do not matter;
// quantized files stay close to f32; and a session's encode/decode contract.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>

#include "hyper_test_util.h"
#include "tools/common/hyper_bake.h"

using namespace hmoe;
using namespace hmoe::test;

namespace {

SyntheticSpec tiny_switch(DType dtype = DType::F32, bool hyper = true) {
  SyntheticSpec s = tiny_spec(4, 1, dtype);
  s.arch = Arch::SwitchHyperMoE;
  s.L = 3;      // encoder blocks: 1 is sparse
  s.Ld = 4;     // decoder blocks: 1 and 3 are sparse
  s.P = 64;
  s.ff = 64;
  s.cap = 5;    // binds in a 12-token input
  s.hyper = hyper;
  s.tied = false;
  return s;
}

// The input encoded, then a teacher-forced decoder call over `forced`, then `steps`
// greedy steps: the logits of every decoder position, [(forced + steps) * V].
std::vector<float> run_switch(const std::shared_ptr<const Model>& model, HyperMode mode,
                              const std::vector<int32_t>& input, const std::vector<int32_t>& forced, int steps,
                              int threads = 1) {
  SessionOptions so;
  so.n_threads = threads;
  so.hyper_mode = mode;
  Session s(model, so);
  s.encode(input.data(), static_cast<int64_t>(input.size()));
  const int64_t V = model->hparams().vocab_size, T = static_cast<int64_t>(forced.size());
  std::vector<float> out(static_cast<size_t>((T + steps) * V));
  s.eval(forced.data(), T, out.data(), /*all_positions=*/true);
  for (int i = 0; i < steps; ++i) {
    const float* last = out.data() + (T + i - 1) * V;
    const int32_t next = static_cast<int32_t>(std::max_element(last, last + V) - last);
    s.eval(&next, 1, out.data() + (T + i) * V);
  }
  return out;
}

const std::vector<int32_t> kInput = prompt_ids(12, 96, 7);
const std::vector<int32_t> kForced = {0, 5, 9, 11};

}  // namespace

TEST_CASE("Switch: cached, per-token, on-demand and baked HyperExperts agree; threads do not matter") {
  const SyntheticSpec spec = tiny_switch();
  auto model = make_synthetic_model(spec, cache_options(64ull << 20));
  REQUIRE(model->hyper_cache() != nullptr);
  CHECK(model->hyper_cache()->mode() == HyperCacheMode::Precomputed);
  CHECK(model->hyper_cache()->stats().layers == 3);  // encoder block 1, decoder blocks 1 and 3
  const std::vector<float> want = run_switch(model, HyperMode::Table, kInput, kForced, 6);
  CHECK(run_switch(model, HyperMode::PerToken, kInput, kForced, 6) == want);
  CHECK(run_switch(model, HyperMode::Table, kInput, kForced, 6, 2) == want);
  auto lazy = make_synthetic_model(spec, cache_options(64ull << 20, /*precompute=*/false));
  CHECK(run_switch(lazy, HyperMode::Table, kInput, kForced, 6) == want);
  CHECK(lazy->hyper_cache()->stats().misses > 0);
  // Without its HyperExpert the model computes something else: the tests above would see a wrong one.
  CHECK(rel_diff(want, run_switch(model, HyperMode::Off, kInput, kForced, 6), 96) > 0.05);

  const std::string src = temp_path("switch_src.hmoe"), baked = temp_path("switch_baked.hmoe");
  write_synthetic_model(spec, src);
  const BakeSummary sum = bake_model_file(src, src, baked);
  std::remove(src.c_str());
  CHECK(sum.patterns == 4);
  auto b = Model::load(baked);
  std::remove(baked.c_str());
  CHECK(b->hyper_cache()->mode() == HyperCacheMode::Baked);
  CHECK(rel_diff(want, run_switch(b, HyperMode::Table, kInput, kForced, 6), 96) <= 1e-6);
}

TEST_CASE("Switch: quantized weights stay close to f32") {
  auto f32 = make_synthetic_model(tiny_switch(DType::F32));
  const std::vector<float> want = run_switch(f32, HyperMode::Table, kInput, kForced, 0);
  const struct {
    DType dtype;
    double tolerance;  // of each position's logit range
  } cases[] = {{DType::F16, 1e-3}, {DType::BF16, 2e-2}, {DType::Q8_0, 2e-2}, {DType::Q4_0, 2e-1}};
  for (const auto& c : cases) {
    auto q = make_synthetic_model(tiny_switch(c.dtype));
    const double diff = rel_diff(want, run_switch(q, HyperMode::Table, kInput, kForced, 0), 96);
    CHECK_MESSAGE(diff <= c.tolerance, dtype_name(c.dtype) << ": " << diff);
    CHECK(run_switch(q, HyperMode::PerToken, kInput, kForced, 0) == run_switch(q, HyperMode::Table, kInput, kForced, 0));
  }
}

TEST_CASE("Switch: a session encodes before it decodes, and each encode starts a new answer") {
  auto model = make_synthetic_model(tiny_switch(DType::F32, /*hyper=*/false));
  CHECK(model->hyper_cache() == nullptr);
  Session s(model);
  CHECK(s.encoder_decoder());
  const int32_t start = 0;
  try {
    s.eval(&start, 1, nullptr);
    FAIL("decoding before an input was encoded");
  } catch (const Error& e) {
    CHECK(e.status() == Status::InvalidArgument);
  }
  const std::vector<int32_t> too_long(65, 3);
  try {
    s.encode(too_long.data(), 65);
    FAIL("an input longer than n_positions");
  } catch (const Error& e) {
    CHECK(e.status() == Status::ContextFull);
  }
  std::vector<float> a(96), b(96);
  s.encode(kInput.data(), 12);
  CHECK(s.n_encoded() == 12);
  s.eval(kForced.data(), 4, a.data());
  CHECK(s.n_past() == 4);
  s.encode(kInput.data(), 12);  // the same input again: the decoder starts over
  CHECK(s.n_past() == 0);
  s.eval(kForced.data(), 4, b.data());
  CHECK(a == b);
  // A decoder-only model has nothing to encode with.
  auto gpt2 = make_synthetic_model(tiny_spec(4, 2));
  Session g(gpt2);
  try {
    g.encode(kInput.data(), 12);
    FAIL("encode on a decoder-only model");
  } catch (const Error& e) {
    CHECK(e.status() == Status::Unsupported);
  }
}
