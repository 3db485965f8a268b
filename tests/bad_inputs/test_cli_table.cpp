// Rows C of tests/BAD_INPUTS.md: one condition, one message, one exit code, in every
// command it can reach. And rows R14 (thread counts from the environment), F24 (finite
// weights whose activations overflow) and L01 (what loading costs, and skipping it).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "formats/error.h"
#include "runtime/api/hypermoe.hpp"
#include "runtime/kernels/threads.h"
#include "runtime/text/bpe_tokenizer.h"
#include "runtime/text/model_tokenizer.h"
#include "formats/model_file.h"
#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

using namespace hmoe;
using namespace hmoe::bad_inputs;

namespace {

std::string model() { return seed_model_path("hyper_n4k2_f32_tok"); }
std::string plain() { return seed_model_path("plain_n4k2_f32"); }  // no tokenizer

void expect(const CliResult& r, int code, const std::string& fragment) {
  const std::string problem = refusal_problem(r, code, fragment);
  CHECK_MESSAGE(problem.empty(), problem);
}

void expect_ok(const CliResult& r) { CHECK_MESSAGE(r.exit_code == 0, r.describe()); }

void write_text(const std::string& path, const std::string& text) { write_file(path, {text.begin(), text.end()}); }

CliResult with_stdin(const std::vector<std::string>& args, const std::string& input) {
  RunOptions o;
  o.use_stdin_data = true;
  o.stdin_data = input;
  return run_hmoe(args, o);
}

const char* const kText = "In the beginning God created the heaven and the earth.";

}  // namespace

TEST_CASE("C01 a model file that cannot be opened: one message in every command") {
  TempDir dir("c01");
  const std::string text = dir.file("text.txt");
  write_text(text, kText);
  const std::string missing = dir.file("no_such_model.hmoe");
  const std::string says = "cannot open model file '" + missing + "': No such file or directory";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "-m", missing, "-p", "x"}, {"logits", "-m", missing, "--ids", "1"},
        {"tokenize", "-m", missing, "-p", "x"}, {"perplexity", "-m", missing, "-f", text}, {"inspect", missing},
        {"inspect", "-m", missing}, {"quantize", missing, dir.file("o.hmoe"), "--type", "q8"},
        {"bench", "-m", missing, "-p", "2", "-n", "0", "-r", "1"}}) {
    CAPTURE(args[0]);
    expect(run_hmoe(args), 1, says);
  }
  hmoe_model* m = nullptr;
  CHECK(hmoe_model_load(missing.c_str(), nullptr, &m) == HMOE_ERR_IO);
}

TEST_CASE("C02 text for a model without a tokenizer: one message, exit 1, in every command") {
  TempDir dir("c02");
  const std::string text = dir.file("text.txt");
  write_text(text, kText);
  const std::string says = "the model '" + plain() + "' has no tokenizer: it takes token ids only";
  expect(run_hmoe({"run", "-m", plain(), "-p", "hello"}), 1, says);
  expect(run_hmoe({"run", "-m", plain(), "-f", text}), 1, says);
  expect(with_stdin({"run", "-m", plain(), "-i"}, "hello\n"), 1, says);
  expect(run_hmoe({"tokenize", "-m", plain(), "-p", "hello"}), 1, says);
  expect(run_hmoe({"perplexity", "-m", plain(), "-f", text}), 1, says);
  // Token ids still work.
  expect_ok(run_hmoe({"run", "-m", plain(), "--ids", "1,2", "-n", "2"}));
}

TEST_CASE("C03 thread counts: 0 is the default in every command, the limit is one message") {
  TempDir dir("c03");
  const std::string text = dir.file("text.txt");
  write_text(text, kText);
  const std::vector<std::vector<std::string>> commands = {
      {"run", "-m", model(), "--ids", "1,2", "-n", "1", "-t"},
      {"logits", "-m", model(), "--ids", "1,2", "-t"},
      {"tokenize", "-m", model(), "-p", "x", "-t"},
      {"perplexity", "-m", model(), "-f", text, "-t"},
      {"bench", "-m", model(), "-p", "2", "-n", "0", "-r", "1", "--warmup", "0", "--bw-mib", "0", "-t"},
      {"quantize", model(), dir.file("q.hmoe"), "--type", "q8", "--threads"}};
  for (std::vector<std::string> args : commands) {
    CAPTURE(args[0]);
    args.push_back("0");
    expect_ok(run_hmoe(args));
    args.back() = "-1";
    expect(run_hmoe(args), 2, "--threads must be in [0, 4096] (0: the default), got -1");
    args.back() = "4097";
    expect(run_hmoe(args), 2, "--threads must be in [0, 4096] (0: the default), got 4097");
  }
}

TEST_CASE("C04 an input file that is missing: one message in every command") {
  TempDir dir("c04");
  const std::string missing = dir.file("no_such_text.txt");
  const std::string says = "cannot open input file '" + missing + "': No such file or directory";
  expect(run_hmoe({"run", "-m", model(), "-f", missing}), 1, says);
  expect(run_hmoe({"tokenize", "-m", model(), "-f", missing}), 1, says);
  expect(run_hmoe({"perplexity", "-m", model(), "-f", missing}), 1, says);
}

TEST_CASE("C05 an empty file name is refused, never read as 'use the default'") {
  for (const char* cmd : {"run", "logits", "tokenize", "perplexity", "inspect", "bench"}) {
    CAPTURE(cmd);
    expect(run_hmoe({cmd, "-m", "", "--ids", "1"}), 2, "option -m needs a file name, got ''");
  }
  expect(run_hmoe({"run", "-m", model(), "-f", ""}), 2, "option -f needs a file name, got ''");
  expect(run_hmoe({"tokenize", "-m", model(), "-f", ""}), 2, "option -f needs a file name, got ''");
  expect(run_hmoe({"perplexity", "-m", model(), "-f", ""}), 2, "option -f needs a file name, got ''");
  expect(run_hmoe({"logits", "-m", model(), "--ids", "1", "-o", ""}), 2, "option -o needs a file name, got ''");
  expect(run_hmoe({"quantize", "", "out.hmoe", "--type", "q8"}), 2, "IN.hmoe needs a file name, got ''");
  expect(run_hmoe({"quantize", model(), "", "--type", "q8"}), 2, "OUT.hmoe needs a file name, got ''");
  expect(run_hmoe({"inspect", ""}), 2, "FILE needs a file name, got ''");
}

TEST_CASE("C06 a negative seed other than -1 is refused; -1 draws one and says which") {
  expect(run_hmoe({"run", "-m", model(), "--ids", "1", "--seed", "-2"}), 2,
         "--seed must be >= 0, or -1 for a random seed, got -2");
  const CliResult random = run_hmoe({"run", "-m", model(), "--ids", "1,2", "-n", "4", "--seed", "-1"});
  expect_ok(random);
  const size_t at = random.err.find("seed ");
  REQUIRE(at != std::string::npos);
  const std::string seed = random.err.substr(at + 5, random.err.find('\n', at) - at - 5);
  CHECK(seed.find('-') == std::string::npos);
  // That seed gives the same tokens again.
  const CliResult again = run_hmoe({"run", "-m", model(), "--ids", "1,2", "-n", "4", "--seed", seed});
  CHECK(again.out == random.out);
}

TEST_CASE("C07 invalid UTF-8: the message names no flag a command may lack") {
  TempDir dir("c07");
  const std::string latin1 = dir.file("latin1.txt");
  write_text(latin1, "caf\xe9 au lait");
  const std::string says = "input is not valid UTF-8: byte 0xE9 at offset 3 does not start a valid character";
  for (const CliResult& r : {run_hmoe({"run", "-m", model(), "-p", "caf\xe9"}),
                             run_hmoe({"tokenize", "-m", model(), "-p", "caf\xe9"}),
                             run_hmoe({"perplexity", "-m", model(), "-f", latin1}),
                             with_stdin({"run", "-m", model(), "-i"}, "caf\xe9\n")}) {
    expect(r, 1, says);
    CHECK(r.err.find("allow") == std::string::npos);
  }
  // The core says the same, with its category (a caller's text, not a bad file).
  const auto file = ModelFile::open(model());
  const auto tok = text::load_model_tokenizer(*file);
  try {
    tok->encode("caf\xe9");
    FAIL("invalid UTF-8 encoded");
  } catch (const Error& e) {
    CHECK(e.status() == Status::InvalidArgument);
    CHECK(std::string(e.what()) == says);
  }
  // tokenize --allow-invalid-utf8 encodes the bytes.
  expect_ok(run_hmoe({"tokenize", "-m", model(), "-p", "caf\xe9", "--allow-invalid-utf8"}));
}

TEST_CASE("C08 the model as -m FILE in every command, inspect included") {
  const CliResult by_flag = run_hmoe({"inspect", "-m", model()});
  const CliResult by_position = run_hmoe({"inspect", model()});
  expect_ok(by_flag);
  CHECK(by_flag.out == by_position.out);
  CHECK(by_flag.out.find("architecture: GPT2_HYPERMOE") != std::string::npos);
  expect(run_hmoe({"inspect", model(), "-m", model()}), 2, "give the file once: FILE or -m FILE");
}

TEST_CASE("C09 more tokens than the context leaves: clipped with a note, before any output") {
  // 2 prompt tokens in a context of 16 leave 14.
  const CliResult greedy = run_hmoe({"logits", "-m", model(), "--ids", "1,2", "--greedy", "200"});
  expect_ok(greedy);
  CHECK(greedy.err.find("note: generating 14 tokens, all the context leaves after the prompt") != std::string::npos);
  int commas = 0;
  for (char c : greedy.out) commas += c == ',';
  CHECK(commas == 13);
  const CliResult run = run_hmoe({"run", "-m", model(), "--ids", "1,2", "-n", "200", "--temp", "0", "--ignore-eos"});
  expect_ok(run);
  CHECK(run.err.find("note: generating 14 tokens, all the context leaves after the prompt") != std::string::npos);
  // The same ids: one generation loop (the API's), greedy in both; unless greedy picked
  // end-of-text (299), which run --ignore-eos never samples.
  if (greedy.out.find("299") == std::string::npos) CHECK(run.out == greedy.out);
}

TEST_CASE("R14 OMP_NUM_THREADS=100000: the default is capped at the processors") {
  TempDir dir("r14");
  const std::string text = dir.file("text.txt");
  write_text(text, kText);
  RunOptions env;
  env.env = {{"OMP_NUM_THREADS", "100000"}};
  // Each used to die in libgomp starting 100000 threads (SIGSEGV).
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "-m", model(), "-p", "x", "-n", "2"},
        {"logits", "-m", model(), "--ids", "1,2"},
        {"perplexity", "-m", model(), "-f", text},
        {"quantize", model(), dir.file("q.hmoe"), "--type", "q8"},
        {"bench", "-m", model(), "-p", "2", "-n", "0", "-r", "1", "--warmup", "0"}}) {
    CAPTURE(args[0]);
    expect_ok(run_hmoe(args, env));
  }
  const CliResult version = run_hmoe({"version"}, env);
  expect_ok(version);
  const size_t at = version.out.find("threads:");
  REQUIRE(at != std::string::npos);
  const int threads = std::atoi(version.out.c_str() + at + 9);
  CHECK(threads >= 1);
  CHECK(threads <= static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  // The one function that decides: never past the processors, explicit counts up to 4096.
  CHECK(kernels::default_threads() <= static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  CHECK(hmoe_model_default_params().n_threads == kernels::default_threads());
  CHECK(hmoe_session_default_params().n_threads == kernels::default_threads());
  CHECK(kernels::resolve_threads(4096, "n") == 4096);
  CHECK_THROWS_AS(kernels::resolve_threads(4097, "n"), Error);
}

TEST_CASE("F24 finite weights whose activations overflow: a bad model file, never a NaN result") {
  // Embeddings of 3e38 are finite (the weight check passes them), but a token's row plus
  // its position's is +inf, and layer norm makes NaN of it.
  ModelSurgery m(read_file(model()));
  for (int64_t i = 0; i < 300 * 16; ++i) m.poke_f32("tok_embd", i, 3e38f);
  for (int64_t i = 0; i < 16 * 16; ++i) m.poke_f32("pos_embd", i, 3e38f);
  TempFile f("overflow.hmoe");
  f.write(m.build());
  TempDir dir("f24");
  const std::string text = dir.file("text.txt");
  write_text(text, kText);
  for (const CliResult& r :
       {run_hmoe({"run", "-m", f.path(), "--ids", "1,2", "-n", "2"}), run_hmoe({"run", "-m", f.path(), "-p", kText}),
        run_hmoe({"logits", "-m", f.path(), "--ids", "1,2"}),
        run_hmoe({"logits", "-m", f.path(), "--ids", "1,2", "--greedy", "2"}),
        run_hmoe({"perplexity", "-m", f.path(), "-f", text}),
        run_hmoe({"perplexity", "-m", f.path(), "-f", text, "--json"})}) {
    expect(r, 1, "");  // the core names where (its check), or the API the logit
    CHECK(r.out.find("nan") == std::string::npos);
  }
  // The C API: a bad file, from eval and from generate; never the caller's fault.
  hmoe_model_params mp = hmoe_model_default_params();
  mp.n_threads = 1;
  hmoe_model* hm = nullptr;
  REQUIRE(hmoe_model_load(f.path().c_str(), &mp, &hm) == HMOE_OK);
  hmoe_session_params sp = hmoe_session_default_params();
  sp.n_threads = 1;
  hmoe_session* s = nullptr;
  REQUIRE(hmoe_session_create(hm, &sp, &s) == HMOE_OK);
  const int32_t ids[2] = {1, 2};
  CHECK(hmoe_session_eval(s, ids, 2) == HMOE_ERR_BAD_FILE);
  hmoe_session_info info;
  REQUIRE(hmoe_session_get_info(s, &info) == HMOE_OK);
  CHECK(info.n_past == 0);  // nothing changed
  hmoe_generate_result r;
  CHECK(hmoe_generate(s, ids, 2, nullptr, nullptr, 0, &r) == HMOE_ERR_BAD_FILE);
  hmoe_session_free(s);
  hmoe_model_free(hm);
}

TEST_CASE("L01 what loading costs, and skipping the HyperExpert fill where it is not used") {
  const CliResult table = run_hmoe({"run", "-m", model(), "--ids", "1,2", "-n", "1", "--stats"});
  expect_ok(table);
  CHECK(table.err.find("load: ") != std::string::npos);
  CHECK(table.err.find(", of which filling the HyperExpert cache ") != std::string::npos);
  CHECK(table.err.find("hyper cache: precomputed at load") != std::string::npos);
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"--no-precompute"}, {"--hyper", "pertoken"}}) {
    std::vector<std::string> args = {"run", "-m", model(), "--ids", "1,2", "-n", "1", "--stats"};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult r = run_hmoe(args);
    CAPTURE(extra[0]);
    expect_ok(r);
    CHECK(r.err.find("of which filling the HyperExpert cache 0.00 s") != std::string::npos);
    CHECK(r.err.find("hyper cache: on demand") != std::string::npos);
  }
  // The API reports it; with hyper_precompute off there is no fill.
  for (const bool precompute : {true, false}) {
    hypermoe::ModelParams mp;
    mp.n_threads = 1;
    mp.hyper_precompute = precompute;
    const hypermoe::Model m = hypermoe::Model::load(model(), mp);
    const hypermoe::ModelLoadStats st = m.load_stats();
    CHECK(st.load_seconds > 0);
    CHECK(st.hyper_fill_seconds <= st.load_seconds);
    CHECK((st.hyper_fill_seconds > 0) == precompute);
    CHECK(m.hyper_cache_stats().mode == (precompute ? HMOE_HYPER_CACHE_PRECOMPUTED : HMOE_HYPER_CACHE_ON_DEMAND));
  }
}
