// The C++ layer (hypermoe.hpp): RAII handles, views, exceptions with the C status and
// message, and a callback exception that comes back out of generate().
#include <doctest/doctest.h>

#include <array>
#include <cstring>
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

TEST_CASE("errors: the reason without the function, for a user-facing message") {
  try {
    Model::load("/nonexistent/x.hmoe");
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.message().rfind("hmoe_model_load: ", 0) == 0);
    CHECK(e.reason().rfind("cannot open model file '/nonexistent/x.hmoe'", 0) == 0);
  }
}

TEST_CASE("vocab_only: the tokenizer and the header, no weights") {
  const api_test::Reference ref = api_test::read_reference();
  ModelParams p = one_thread();
  p.vocab_only = true;
  const Model model = Model::load(api_test::model_dir() + "/n8k2.hmoe", p);
  CHECK(model.info().n_vocab == 512);
  CHECK(model.tokenize(ref.prompt) == ref.prompt_ids);
  CHECK(model.metadata("general.name") == "n8k2");
  CHECK(model.hyper_cache_stats().mode == HMOE_HYPER_CACHE_NONE);
  CHECK(model.load_stats().hyper_fill_seconds == 0);
  try {
    Session s(model, greedy_session());
    FAIL("a session on a vocab_only model");
  } catch (const Error& e) {
    CHECK(e.status() == HMOE_ERR_UNSUPPORTED);
    CHECK(e.reason().find("vocab_only") != std::string::npos);
  }
  CHECK(hmoe_model_default_params().vocab_only == false);
}

TEST_CASE("token_text: the vocabulary's spelling, not the bytes") {
  const Model model = Model::load(api_test::model_dir() + "/n8k2.hmoe", one_thread());
  const std::vector<int32_t> ids = model.tokenize(" the");
  REQUIRE(!ids.empty());
  const std::string spelled = model.token_text(ids.back());
  CHECK(spelled.rfind("\xc4\xa0", 0) == 0);  // U+0120 stands for the space
  CHECK(model.detokenize({ids.back()}).rfind(" ", 0) == 0);
  CHECK_THROWS_AS(model.token_text(-1), Error);
  CHECK_THROWS_AS(model.token_text(model.info().n_vocab), Error);
}

TEST_CASE("sampling params are checked without a session, and the defaults are those documented in hypermoe.h") {
  SamplingParams p;
  CHECK(p.temperature == 0.8f);
  CHECK(p.top_k == 40);
  CHECK(p.top_p == 0.95f);
  CHECK(p.repetition_penalty == 1.0f);
  CHECK_NOTHROW(p.check());
  p.temperature = -1;
  CHECK_THROWS_WITH_AS(p.check(), doctest::Contains("temperature"), Error);
  CHECK(hmoe_sampling_params_check(nullptr) == HMOE_ERR_INVALID_ARGUMENT);
  const hmoe_generate_params g = hmoe_generate_default_params();
  CHECK(!g.ignore_eos);
  CHECK(g.stop_strings == nullptr);
  CHECK(g.n_stop_strings == 0);
  CHECK(!g.context_shift);
  CHECK(g.n_keep == 0);
  CHECK((g.cancel == nullptr));
}

TEST_CASE("generate: bad new params are refused") {
  const Model model = Model::load(api_test::model_dir() + "/n8k2.hmoe", one_thread());
  Session s(model, greedy_session());
  GenerateOptions opt;
  opt.n_keep = -1;
  CHECK_THROWS_WITH_AS(s.generate({1, 2}, opt), doctest::Contains("n_keep is -1"), Error);
  hmoe_generate_params p = hmoe_generate_default_params();
  const char* stops[1] = {nullptr};
  p.stop_strings = stops;
  p.n_stop_strings = 1;
  hmoe_generate_result r;
  const int32_t prompt[2] = {1, 2};
  CHECK(hmoe_generate(s.get(), prompt, 2, &p, nullptr, 0, &r) == HMOE_ERR_INVALID_ARGUMENT);
  CHECK(std::string(hmoe_last_error()).find("stop_strings[0] is NULL") != std::string::npos);
  p = hmoe_generate_default_params();
  std::memset(&p.context_shift, 3, 1);
  CHECK(hmoe_generate(s.get(), prompt, 2, &p, nullptr, 0, &r) == HMOE_ERR_INVALID_ARGUMENT);
  CHECK(std::string(hmoe_last_error()).find("context_shift holds byte 3") != std::string::npos);
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
