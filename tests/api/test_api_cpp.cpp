// The C++ layer (hypermoe.hpp): RAII handles, views, exceptions with the C status and
// message, and a callback exception that comes back out of generate().
#include <doctest/doctest.h>

#include <array>
#include <hypermoe.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "api_test_models.h"

using namespace hypermoe;

namespace {

ModelParams one_thread() {
  ModelParams p;
  p.n_threads = 1;
  return p;
}

SessionParams greedy_session() {
  SessionParams p;
  p.n_threads = 1;
  p.sampling = SamplingParams::greedy();
  return p;
}

}  // namespace

TEST_CASE("errors carry the status and the library's message") {
  try {
    Model::load("/nonexistent/x.hmoe");
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.status() == HMOE_ERR_IO);
    CHECK(std::string(e.what()).find("/nonexistent/x.hmoe") != std::string::npos);
  }
  const Model model = Model::load(api_test::model_dir() + "/n8k2.hmoe", one_thread());
  SessionParams p = greedy_session();
  p.sampling.top_p = 0.0f;
  CHECK_THROWS_WITH_AS(Session(model, p), doctest::Contains("top_p"), Error);
  CHECK_THROWS_WITH_AS(model.metadata("no.such.key"), doctest::Contains("no.such.key"), Error);
}

TEST_CASE("model: info, metadata, text") {
  const api_test::Reference ref = api_test::read_reference();
  const Model model = Model::load(api_test::model_dir() + "/n8k2.hmoe", one_thread());
  const ModelInfo info = model.info();
  CHECK(info.n_vocab == 512);
  CHECK(info.has_tokenizer);
  CHECK(model.metadata("general.name") == "n8k2");
  const std::vector<int32_t> ids = model.tokenize(ref.prompt);
  CHECK(ids == ref.prompt_ids);
  CHECK(model.detokenize(ids) == ref.prompt);
  CHECK(model.detokenize({}) == "");
  CHECK(model.tokenize("") == std::vector<int32_t>{});
  CHECK(!version().empty());
  CHECK(!simd_target().empty());
}

TEST_CASE("session: greedy generation matches the reference, eval and views") {
  const api_test::Reference ref = api_test::read_reference();
  Model model = Model::load(api_test::model_dir() + "/n8k2.hmoe", one_thread());
  const Model moved = std::move(model);  // handles move; sessions follow the moved-to object
  Session s(moved, greedy_session());

  GenerateOptions opt;
  opt.max_tokens = static_cast<int32_t>(ref.greedy.size());
  opt.stop_at_eos = false;
  std::string text;
  opt.on_token = [&](int32_t, std::string_view piece) {
    text += piece;
    return true;
  };
  const Generation g = s.generate(ref.prompt_ids, opt);
  CHECK(g.tokens == ref.greedy);
  CHECK(g.stop_reason == HMOE_STOP_MAX_TOKENS);
  // The pieces are the continuation's bytes (ids the tokenizer lacks have none).
  std::vector<int32_t> known;
  for (int32_t t : g.tokens)
    if (t < 505) known.push_back(t);
  CHECK(text == moved.detokenize(known));
  CHECK(s.info().n_past == static_cast<int32_t>(ref.prompt_ids.size() + ref.greedy.size()));

  s.reset();
  const std::array<int32_t, 3> three{ref.prompt_ids[0], ref.prompt_ids[1], ref.prompt_ids[2]};
  const std::vector<float> all = s.eval_all_logits(three);
  CHECK(all.size() == 3 * 512);
  const Span<const float> last = s.logits();
  REQUIRE(last.size() == 512);
  for (size_t v = 0; v < last.size(); ++v) CHECK(last[v] == all[2 * 512 + v]);
  s.eval({ref.prompt_ids[3]});
  CHECK(s.tokens() == std::vector<int32_t>(ref.prompt_ids.begin(), ref.prompt_ids.begin() + 4));
  CHECK_THROWS_AS(s.eval({512}), Error);
  s.truncate(2);
  CHECK(s.info().n_past == 2);
  CHECK_THROWS_AS(s.logits(), Error);
}

TEST_CASE("an exception thrown by the callback stops generation and reaches the caller") {
  const api_test::Reference ref = api_test::read_reference();
  const Model model = Model::load(api_test::model_dir() + "/n8k2.hmoe", one_thread());
  Session s(model, greedy_session());
  GenerateOptions opt;
  opt.max_tokens = 8;
  int calls = 0;
  opt.on_token = [&](int32_t, std::string_view) -> bool {
    if (++calls == 2) throw std::out_of_range("the callback gives up");
    return true;
  };
  CHECK_THROWS_WITH_AS(s.generate(ref.prompt_ids, opt), "the callback gives up", std::out_of_range);
  CHECK(calls == 2);
  // Both reported tokens were evaluated: the session is consistent and can continue.
  CHECK(s.info().n_past == static_cast<int32_t>(ref.prompt_ids.size() + 2));
  opt.on_token = nullptr;
  opt.max_tokens = static_cast<int32_t>(ref.greedy.size()) - 2;
  opt.stop_at_eos = false;
  const Generation rest = s.generate({}, opt);
  CHECK(rest.tokens == std::vector<int32_t>(ref.greedy.begin() + 2, ref.greedy.end()));
}

TEST_CASE("an encoder-decoder: encode, then generate the reference's greedy answer") {
  const Model model = Model::load(api_test::model_dir() + "/sw.hmoe", one_thread());
  const ModelInfo info = model.info();
  CHECK(info.encoder_decoder);
  CHECK(info.decoder_start_id == 0);
  CHECK(info.n_decoder_layer == 4);
  CHECK(model.architecture() == "switch-hypermoe");
  bool saw_capacity = false;
  for (const auto& [name, value] : model.hparams()) saw_capacity = saw_capacity || (name == "expert_capacity" && value == 64);
  CHECK(saw_capacity);
  const api_test::Reference ref = api_test::read_reference("sw");
  REQUIRE(!ref.input_ids.empty());
  Session s(model, greedy_session());
  GenerateOptions opt;
  opt.max_tokens = static_cast<int32_t>(ref.greedy.size());
  opt.stop_at_eos = false;
  // Decoding before an input is encoded is the caller's mistake.
  try {
    s.generate({}, opt);
    FAIL("generated without an input");
  } catch (const Error& e) {
    CHECK(e.status() == HMOE_ERR_INVALID_ARGUMENT);
  }
  s.encode(ref.input_ids);
  CHECK(s.generate({}, opt).tokens == ref.greedy);  // from the decoder start token
  // A second encode starts a new answer: the same input gives the same one.
  s.encode(ref.input_ids);
  CHECK(s.info().n_past == 0);
  CHECK(s.generate({}, opt).tokens == ref.greedy);
  // A decoder-only model has nothing to encode with.
  const Model gpt2 = Model::load(api_test::model_dir() + "/n8k2.hmoe", one_thread());
  Session g(gpt2, greedy_session());
  try {
    g.encode(std::vector<int32_t>{1, 2});
    FAIL("encoded with a decoder-only model");
  } catch (const Error& e) {
    CHECK(e.status() == HMOE_ERR_UNSUPPORTED);
  }
  CHECK(gpt2.architecture() == "gpt2-hypermoe");
  CHECK_FALSE(gpt2.info().encoder_decoder);
}
