// Baked tables: the file runs without the hypernetwork and gives the same logits.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include <cstdio>
#include <stdexcept>

#include "hyper_test_util.h"
#include "tools/common/hyper_bake.h"
#include "runtime/model/hyper/selection_pattern.h"

using namespace hmoe;
using namespace hmoe::test;

namespace {

void check_baked_equals_unbaked(int64_t N, int64_t k, DType dtype) {
  CAPTURE(N);
  CAPTURE(k);
  CAPTURE(dtype_name(dtype));
  const SyntheticSpec spec = tiny_spec(N, k, dtype);
  auto model = make_synthetic_model(spec, cache_options(64ull << 20));
  const std::string path = temp_path("baked_" + std::to_string(N) + "_" + std::to_string(k) + ".hmoe");
  const BakeSummary sum = write_baked_model(*model, path, model->hyper_cache()->layout().dtype);
  auto baked = Model::load(path, cache_options(64ull << 20));
  std::remove(path.c_str());

  CHECK(sum.table_dtype == dtype);
  CHECK(sum.patterns == binomial(N, k));
  CHECK(sum.dropped_bytes > 0);
  CHECK(sum.added_bytes > 0);
  CHECK(sum.out_bytes > 0);
  CHECK(baked->weights().hyper_baked);
  CHECK_FALSE(baked->has_hypernetwork());
  REQUIRE(baked->hyper_cache() != nullptr);
  CHECK(baked->hyper_cache()->mode() == HyperCacheMode::Baked);
  // Exactly the baked table of the architecture: the hypernetwork's tensors are gone.
  std::vector<std::string> want_names, have_names;
  for (const TensorDecl& t : baked->arch().tensors(baked->hparams(), /*baked=*/true)) {
    want_names.push_back(t.name);
    CHECK_MESSAGE(t.role != TensorRole::Hypernet, t.name);
  }
  for (const TensorInfo& t : baked->file().tensors()) have_names.push_back(t.name);
  std::sort(want_names.begin(), want_names.end());
  std::sort(have_names.begin(), have_names.end());
  CHECK(want_names == have_names);
  const TensorInfo& down = baked->file().get("blk.1.hyper.table.down");
  CHECK(down.dtype == dtype);
  CHECK(down.shape == std::vector<int64_t>{static_cast<int64_t>(binomial(N, k)), spec.b, spec.d});

  const std::vector<int32_t> prompt = prompt_ids(20, spec.V, 9);
  const std::vector<float> want = run_logits(model, HyperMode::Table, prompt, 3);
  CHECK(rel_diff(want, run_logits(baked, HyperMode::Table, prompt, 3), spec.V) <= 1e-6);
  CHECK(rel_diff(run_logits(model, HyperMode::PerToken, prompt, 3), run_logits(baked, HyperMode::Table, prompt, 3),
                 spec.V) <= 1e-5);
  CHECK(baked->hyper_cache()->stats().hits > 0);

  // The hypernetwork is gone, so the per-token path cannot run.
  SessionOptions so;
  so.hyper_mode = HyperMode::PerToken;
  CHECK_THROWS_AS(Session(baked, so), Error);
}

}  // namespace

TEST_CASE("a baked model gives the unbaked model's logits") {
  check_baked_equals_unbaked(8, 1, DType::F32);
  check_baked_equals_unbaked(8, 2, DType::F32);
  check_baked_equals_unbaked(16, 2, DType::F32);
  check_baked_equals_unbaked(8, 2, DType::F16);
  check_baked_equals_unbaked(8, 2, DType::Q8_0);  // stacked block tables: all quants, then all scales
  check_baked_equals_unbaked(16, 2, DType::Q4_0);
}

TEST_CASE("the tensors that baking drops are the hypernetwork's") {
  HParams hp;
  hp.vocab_size = 10, hp.n_positions = 4, hp.n_embd = 32, hp.n_layer = 12, hp.n_head = 2, hp.n_experts = 4;
  hp.top_k = 2, hp.use_hypernet = true, hp.experts_embedding_dim = 8, hp.process_dim = 8, hp.hypernet_input = 8;
  hp.hypernetwork_bottleneck = 8, hp.layer_emb_dim = 2, hp.adapter_dim = 32;
  std::map<std::string, TensorRole> role;
  for (const TensorDecl& t : arch_spec(Arch::Gpt2HyperMoE).tensors(hp, false)) role[t.name] = t.role;
  for (const char* name : {"hyper.linear1.weight", "hyper.layer_embd", "blk.3.hyper.expert_embd", "blk.11.hyper.proc0.bias"})
    CHECK_MESSAGE(role.at(name) == TensorRole::Hypernet, name);
  for (const char* name : {"blk.3.moe.fc.weight", "tok_embd", "blk.0.moe.gate"})
    CHECK_MESSAGE(role.at(name) != TensorRole::Hypernet, name);
  CHECK(role.count("blk.3.hyper.table.down") == 0);
  for (const TensorDecl& t : arch_spec(Arch::Gpt2HyperMoE).tensors(hp, true))
    if (t.name == "blk.3.hyper.table.down") CHECK(t.role == TensorRole::HyperTable);
}

TEST_CASE("baking refuses models without a hypernetwork") {
  SyntheticSpec plain = tiny_spec(8, 2);
  plain.hyper = false;
  auto moe = make_synthetic_model(plain);
  CHECK_THROWS_WITH_AS(bake_hyper_tables(*moe, DType::F32), doctest::Contains("plain MoE"), std::invalid_argument);

  const SyntheticSpec spec = tiny_spec(8, 1);
  auto model = make_synthetic_model(spec, cache_options(64ull << 20));
  const std::string path = temp_path("baked_twice.hmoe");
  write_baked_model(*model, path, DType::F32);
  auto baked = Model::load(path);
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(bake_hyper_tables(*baked, DType::F32), doctest::Contains("already baked"),
                       std::invalid_argument);
}

TEST_CASE("baking a file: tables from the source's hypernetwork, in the target's dtype") {
  // As `hmoe quantize --bake-hyper` does: the source is f32, the target its q8 copy.
  SyntheticSpec spec = tiny_spec(8, 2);
  const std::string src = temp_path("bake_src.hmoe"), q8 = temp_path("bake_q8.hmoe"), out = temp_path("bake_out.hmoe");
  write_synthetic_model(spec, src);
  spec.dtype = DType::Q8_0;
  write_synthetic_model(spec, q8);
  const BakeSummary sum = bake_model_file(src, q8, out);
  CHECK(sum.table_dtype == DType::Q8_0);
  CHECK(sum.to_string().find("q8_0") != std::string::npos);
  auto baked = Model::load(out);
  CHECK(baked->hyper_cache()->mode() == HyperCacheMode::Baked);
  CHECK(baked->file().get("blk.0.hyper.table.up").dtype == DType::Q8_0);
  CHECK(baked->file().get("blk.0.moe.fc.weight").dtype == DType::Q8_0);
  // Same source and target: the same logits as the source with its cache.
  const std::string same = temp_path("bake_same.hmoe");
  bake_model_file(src, src, same);
  auto unbaked = Model::load(src, cache_options(64ull << 20));
  const std::vector<int32_t> prompt = prompt_ids(12, spec.V, 4);
  CHECK(rel_diff(run_logits(unbaked, HyperMode::Table, prompt, 2), run_logits(Model::load(same), HyperMode::Table, prompt, 2),
                 spec.V) == 0.0);
  for (const std::string& p : {src, q8, out, same}) std::remove(p.c_str());
}
