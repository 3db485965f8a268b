// Rows G of tests/BAD_INPUTS.md: what users of llama.cpp look for in `hmoe run` (stop
// strings, --ignore-eos, -f -, a context that shifts instead of filling up, an
// interactive mode, Ctrl-C), each in the API's one generation loop and through the CLI.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "runtime/api/hypermoe.hpp"
#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

using namespace hmoe::bad_inputs;

namespace {

std::string model() { return seed_model_path("hyper_n4k2_f32_tok"); }  // context 16, EOS 299
constexpr int32_t kEos = 299;

void expect_ok(const CliResult& r) { CHECK_MESSAGE((r.exit_code == 0 && !r.timed_out), r.describe()); }

hypermoe::Model load(const std::string& path) {
  hypermoe::ModelParams mp;
  mp.n_threads = 1;
  return hypermoe::Model::load(path, mp);
}

hypermoe::SessionParams greedy() {
  hypermoe::SessionParams sp;
  sp.n_threads = 1;
  sp.sampling = hypermoe::SamplingParams::greedy();
  return sp;
}

std::vector<int32_t> iota_ids(int n, int first = 1) {
  std::vector<int32_t> v(n);
  for (int i = 0; i < n; ++i) v[i] = first + i;
  return v;
}

std::string ids_text(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

// Greedy argmax with end-of-text masked, lowest id on ties (the sampler's rule).
int32_t argmax_no_eos(hypermoe::Span<const float> logits) {
  int32_t best = -1;
  for (size_t v = 0; v < logits.size(); ++v)
    if (static_cast<int32_t>(v) != kEos && (best < 0 || logits[v] > logits[best])) best = static_cast<int32_t>(v);
  return best;
}

// A model that always predicts end-of-text: the final norm outputs 1 everywhere and
// token 299's embedding row is all ones, so its logit (16) dwarfs the others.
std::vector<uint8_t> eos_model() {
  ModelSurgery m(read_file(model()));
  for (int i = 0; i < 16; ++i) {
    m.poke_f32("ln_f.weight", i, 0.0f);
    m.poke_f32("ln_f.bias", i, 1.0f);
    m.poke_f32("tok_embd", kEos * 16 + i, 1.0f);
  }
  return m.build();
}

}  // namespace

TEST_CASE("G01 stop strings: generation stops after the token that completes one") {
  const hypermoe::Model m = load(model());
  // The greedy continuation, then a stop string taken from its middle.
  hypermoe::Session full_session(m, greedy());
  hypermoe::GenerateOptions opt;
  opt.max_tokens = 10;
  opt.ignore_eos = true;
  const std::vector<int32_t> prompt = m.tokenize("In the");
  const hypermoe::Generation full = full_session.generate(prompt, opt);
  REQUIRE(full.tokens.size() == 10);
  const std::string text = m.detokenize(full.tokens);
  // The two bytes around the boundary of tokens k-1 and k, for the first k where they
  // occur nowhere earlier: the token at index k completes them.
  size_t k = 0;
  std::string stop, upto;
  for (size_t i = 2; i < 9 && stop.empty(); ++i) {
    const std::string before = m.detokenize(hypermoe::Span<const int32_t>(full.tokens.data(), i));
    const std::string through = m.detokenize(hypermoe::Span<const int32_t>(full.tokens.data(), i + 1));
    if (before.empty() || through.size() == before.size()) continue;
    const std::string candidate = text.substr(before.size() - 1, 2);
    if (text.find(candidate) == before.size() - 1 && candidate.find('\0') == std::string::npos) {
      k = i;
      stop = candidate;
      upto = through;
    }
  }
  REQUIRE(!stop.empty());
  hypermoe::Session s(m, greedy());
  opt.stop_strings = {"\x01never\x02", stop};
  const hypermoe::Generation g = s.generate(prompt, opt);
  CHECK(g.stop_reason == HMOE_STOP_STRING);
  CHECK(g.tokens == std::vector<int32_t>(full.tokens.begin(), full.tokens.begin() + k + 1));
  CHECK(s.info().n_past == static_cast<int32_t>(prompt.size() + k + 1));  // the stopping token is in the context

  // The command line: --stop, the text up to and including that token, and why it stopped.
  const CliResult all = run_hmoe({"run", "-m", model(), "-p", "In the", "-n", "10", "--temp", "0",
                                  "--ignore-eos"});
  const CliResult stopped = run_hmoe({"run", "-m", model(), "-p", "In the", "-n", "10", "--temp", "0",
                                      "--ignore-eos", "--stop", stop});
  expect_ok(stopped);
  CHECK(all.out == text + "\n");
  CHECK(stopped.out == upto + "\n");
  CHECK(stopped.err.find("stopped: stop string") != std::string::npos);

  // Refusals: an empty stop string; stop strings without a tokenizer.
  CHECK(refusal_problem(run_hmoe({"run", "-m", model(), "-p", "x", "--stop", ""}), 2, "--stop needs a non-empty string")
            .empty());
  opt.stop_strings = {""};
  CHECK_THROWS_WITH_AS(s.generate({}, opt), doctest::Contains("stop_strings[0] is empty"), hypermoe::Error);
  const std::string no_tokenizer = refusal_problem(
      run_hmoe({"run", "-m", seed_model_path("plain_n4k2_f32"), "--ids", "1", "--stop", "x"}), 1,
      "stop strings need a tokenizer, and this model has none");
  CHECK_MESSAGE(no_tokenizer.empty(), no_tokenizer);
}

TEST_CASE("G02 end-of-text is not counted as generated, and --ignore-eos never samples it") {
  TempFile f("eos.hmoe");
  f.write(eos_model());
  // The API: greedy picks end-of-text at once; masked, it never appears.
  const hypermoe::Model m = load(f.path());
  hypermoe::Session s(m, greedy());
  hypermoe::GenerateOptions opt;
  opt.max_tokens = 5;
  const hypermoe::Generation stop = s.generate({1, 2}, opt);
  CHECK(stop.stop_reason == HMOE_STOP_EOS);
  CHECK(stop.tokens.empty());
  s.reset();
  opt.ignore_eos = true;
  const hypermoe::Generation all = s.generate({1, 2}, opt);
  CHECK(all.stop_reason == HMOE_STOP_MAX_TOKENS);
  CHECK(all.tokens.size() == 5);
  CHECK(std::count(all.tokens.begin(), all.tokens.end(), kEos) == 0);

  // The command line says 0 tokens (it used to count the end-of-text token as generated).
  const CliResult r = run_hmoe({"run", "-m", f.path(), "--ids", "1,2", "-n", "5", "--temp", "0"});
  expect_ok(r);
  CHECK(r.out == "\n");
  CHECK(r.err.find("generation: 0 tokens") != std::string::npos);
  CHECK(r.err.find("stopped: end of text") != std::string::npos);
  const CliResult ignore = run_hmoe({"run", "-m", f.path(), "--ids", "1,2", "-n", "5", "--temp", "0", "--ignore-eos"});
  expect_ok(ignore);
  CHECK(ignore.out == ids_text(all.tokens) + "\n");
  CHECK(ignore.err.find("generation: 5 tokens") != std::string::npos);
}

TEST_CASE("G03 -f - reads the prompt from standard input") {
  RunOptions piped;
  piped.use_stdin_data = true;
  piped.stdin_data = "In the";
  const CliResult from_stdin = run_hmoe({"run", "-m", model(), "-f", "-", "-n", "4", "--temp", "0"}, piped);
  const CliResult from_flag = run_hmoe({"run", "-m", model(), "-p", "In the", "-n", "4", "--temp", "0"});
  expect_ok(from_stdin);
  CHECK(from_stdin.out == from_flag.out);
  CHECK(from_stdin.out.size() > 1);
  // An empty stdin is an empty prompt.
  RunOptions empty;
  empty.use_stdin_data = true;
  CHECK(refusal_problem(run_hmoe({"run", "-m", model(), "-f", "-"}, empty), 2, "the prompt is empty").empty());
}

TEST_CASE("G04 a full context shifts: the first n_keep tokens stay, the oldest half of the rest goes") {
  const hypermoe::Model m = load(model());
  const std::vector<int32_t> prompt = iota_ids(14);  // 2 positions left of 16
  for (const int32_t n_keep : {0, 2, 5}) {
    CAPTURE(n_keep);
    hypermoe::Session s(m, greedy());
    hypermoe::GenerateOptions opt;
    opt.max_tokens = 24;  // shifts several times
    opt.ignore_eos = true;
    opt.context_shift = true;
    opt.n_keep = n_keep;
    const hypermoe::Generation g = s.generate(prompt, opt);
    CHECK(g.stop_reason == HMOE_STOP_MAX_TOKENS);
    REQUIRE(g.tokens.size() == 24);

    // The same, written out with the core's primitives in a session of our own:
    // evaluate the kept tokens again (positions are absolute), then go on.
    hypermoe::Session ref(m, greedy());
    std::vector<int32_t> ctx = prompt, want;
    ref.eval(ctx);
    for (int i = 0; i < 24; ++i) {
      if (ctx.size() == 16) {
        const size_t keep = static_cast<size_t>(n_keep), discard = (16 - keep) / 2;
        std::vector<int32_t> kept(ctx.begin(), ctx.begin() + keep);
        kept.insert(kept.end(), ctx.begin() + keep + discard, ctx.end());
        ctx = kept;
        ref.truncate(keep);
        ref.eval(hypermoe::Span<const int32_t>(ctx.data() + keep, ctx.size() - keep));
      }
      const int32_t next = argmax_no_eos(ref.logits());
      want.push_back(next);
      ctx.push_back(next);
      ref.eval({next});
    }
    CHECK(g.tokens == want);
    CHECK(s.tokens() == ctx);
    // The kept start is the prompt's.
    CHECK(std::equal(prompt.begin(), prompt.begin() + n_keep, s.tokens().begin()));
    // And the session's state is a fresh evaluation of what it holds.
    hypermoe::Session fresh(m, greedy());
    fresh.eval(s.tokens());
    const hypermoe::Span<const float> a = s.logits(), b = fresh.logits();
    float diff = 0;
    for (size_t v = 0; v < a.size(); ++v) diff = std::max(diff, std::fabs(a[v] - b[v]));
    CHECK(diff < 1e-4f);
  }
  // A prompt that does not fit makes room the same way; one longer than the context after
  // n_keep is refused.
  hypermoe::Session s(m, greedy());
  hypermoe::GenerateOptions opt;
  opt.max_tokens = 1;
  opt.context_shift = true;
  opt.ignore_eos = true;
  s.generate(iota_ids(12), opt);  // 13 in the context
  s.generate(iota_ids(6, 100), opt);  // 6 more do not fit: shifted first
  CHECK(s.info().n_past <= 16);
  const std::vector<int32_t> ctx = s.tokens();
  CHECK(std::vector<int32_t>(ctx.end() - 7, ctx.end() - 1) == iota_ids(6, 100));
  opt.n_keep = 4;
  CHECK_THROWS_WITH_AS(s.generate(iota_ids(13), opt), doctest::Contains("context full"), hypermoe::Error);
  CHECK(s.tokens() == ctx);  // refused before anything changed

  // The command line: --context-shift goes on past the context (without it, a note and 2).
  const CliResult shifted = run_hmoe({"run", "-m", model(), "--ids", ids_text(prompt), "-n", "24", "--temp", "0",
                                      "--ignore-eos", "--context-shift"});
  expect_ok(shifted);
  CHECK(std::count(shifted.out.begin(), shifted.out.end(), ',') == 23);
  const CliResult clipped = run_hmoe({"run", "-m", model(), "--ids", ids_text(prompt), "-n", "24", "--temp", "0"});
  expect_ok(clipped);
  CHECK(clipped.err.find("note: generating 2 tokens") != std::string::npos);
}

TEST_CASE("G05 interactive mode through a pipe: each line continues the same context") {
  const std::vector<std::string> lines = {"In the\n", "And God\n", "said"};
  std::string input;
  for (const std::string& l : lines) input += l;
  RunOptions piped;
  piped.use_stdin_data = true;
  piped.stdin_data = input;
  const CliResult r =
      run_hmoe({"run", "-m", model(), "-i", "-n", "3", "--temp", "0", "--ignore-eos", "--context-shift"}, piped);
  expect_ok(r);
  // The same turns through the API: one session, the lines as typed (with their newline).
  const hypermoe::Model m = load(model());
  hypermoe::Session s(m, greedy());
  hypermoe::GenerateOptions opt;
  opt.max_tokens = 3;
  opt.ignore_eos = true;
  opt.context_shift = true;
  std::string want;
  for (const std::string& l : lines) want += m.detokenize(s.generate(m.tokenize(l, HMOE_TOKENIZE_SPECIAL), opt).tokens) + "\n";
  CHECK(r.out == want);
  CHECK(r.err.find("generation: 9 tokens") != std::string::npos);
  // -p starts the session; the lines follow.
  RunOptions one;
  one.use_stdin_data = true;
  one.stdin_data = "And God\n";
  const CliResult p = run_hmoe({"run", "-m", model(), "-i", "-p", "In the\n", "-n", "3", "--temp", "0", "--ignore-eos"},
                               one);
  expect_ok(p);
  s.reset();
  want.clear();
  for (const std::string& l : {std::string("In the\n"), std::string("And God\n")})
    want += m.detokenize(s.generate(m.tokenize(l, HMOE_TOKENIZE_SPECIAL), opt).tokens) + "\n";
  CHECK(p.out == want);
}

TEST_CASE("G06 Ctrl-C stops generation and still prints the statistics") {
  RunOptions interrupt;
  interrupt.interrupt_after = 40;  // once some ids are out
  const CliResult r = run_hmoe({"run", "-m", model(), "--ids", "1,2", "-n", "1000000", "--temp", "0",
                                "--ignore-eos", "--context-shift"},
                               interrupt);
  CHECK_MESSAGE((r.exit_code == 130 && r.signal == 0), r.describe());
  CHECK(r.err.find("stopped: interrupted") != std::string::npos);
  CHECK(r.err.find("generation: ") != std::string::npos);
  CHECK(!r.out.empty());
  CHECK(r.out.back() == '\n');
  // In an interactive session it ends the turn, and the session goes on.
  RunOptions chat = interrupt;
  chat.use_stdin_data = true;
  chat.stdin_data = "In the\n";
  const CliResult c = run_hmoe({"run", "-m", model(), "-i", "--ids", "1", "-n", "1000000", "--temp", "0",
                                "--ignore-eos", "--context-shift"},
                               chat);
  CHECK(refusal_problem(c, 2, "-i reads text: start it with -p or -f, not --ids").empty());
  const CliResult turn = run_hmoe({"run", "-m", model(), "-i", "-n", "1000000", "--temp", "0", "--ignore-eos",
                                   "--context-shift"},
                                  chat);
  CHECK_MESSAGE((turn.exit_code == 0 && turn.signal == 0), turn.describe());
  CHECK(turn.err.find("generation: ") != std::string::npos);
  // The API's cancel flag, set before the first token: nothing generated.
  const hypermoe::Model m = load(model());
  hypermoe::Session s(m, greedy());
  volatile std::sig_atomic_t cancel = 1;
  hypermoe::GenerateOptions opt;
  opt.cancel = &cancel;
  const hypermoe::Generation g = s.generate({1, 2}, opt);
  CHECK(g.stop_reason == HMOE_STOP_CANCELLED);
  CHECK(g.tokens.empty());
  CHECK(s.info().n_past == 2);  // the prompt was evaluated
}
