// Rows R of tests/BAD_INPUTS.md: bad prompts, token ids and options for `hmoe run` and
// `hmoe logits` on a good model. Exit 2 is a usage error (the flags alone are wrong),
// exit 1 a failure found while working (the value does not fit this model, the prompt
// does not encode); either way one error line and never a signal.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/model/model.h"
#include "runtime/model/session.h"
#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

using namespace hmoe;
using namespace hmoe::bad_inputs;

namespace {

// d 16, N 4, k 2, vocab 300, context 16, with a tokenizer.
std::string model() { return seed_model_path("hyper_n4k2_f32_tok"); }

// `hmoe run` on the seed model with `extra` options.
CliResult run(std::vector<std::string> extra) {
  std::vector<std::string> args = {"run", "-m", model(), "--seed", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_hmoe(args);
}

void expect(const CliResult& r, int code, const std::string& fragment) {
  const std::string problem = refusal_problem(r, code, fragment);
  CHECK_MESSAGE(problem.empty(), problem);
}

std::string ids_list(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i);
  return s;
}

SessionOptions threads(int n) {
  SessionOptions so;
  so.n_threads = n;
  return so;
}

std::shared_ptr<const Model> load_seed() {
  ModelOptions mo;
  mo.n_threads = 1;
  return Model::load(model(), mo);
}

}  // namespace

TEST_CASE("R00 control: the options' good values run") {
  const CliResult r = run({"-p", "In the beginning", "-n", "3", "--temp", "0.7", "--top-p", "0.9", "-t", "1"});
  CHECK_MESSAGE(r.exit_code == 0, r.describe());
  const CliResult ids = run({"--ids", "1,2,3", "-n", "2", "--temp", "0"});
  CHECK_MESSAGE(ids.exit_code == 0, ids.describe());
}

TEST_CASE("R01 token ids outside the vocabulary") {
  expect(run({"--ids", "300", "-n", "1"}), 1, "token id 300 at position 0 is outside the vocabulary [0, 300)");
  expect(run({"--ids", "5,-1", "-n", "1"}), 1, "token id -1 at position 1 is outside the vocabulary");
  expect(run_hmoe({"logits", "-m", model(), "--ids", "1,2,299,300"}), 1, "token id 300 at position 3");
  // The core refuses before touching the context.
  Session s(load_seed(), threads(1));
  const int32_t bad[2] = {1, 300};
  try {
    s.eval(bad, 2, nullptr);
    FAIL("eval accepted token id 300");
  } catch (const Error& e) {
    CHECK(e.status() == Status::InvalidArgument);
  }
  CHECK(s.n_past() == 0);
}

TEST_CASE("R02 token ids that are not 32-bit integers") {
  expect(run({"--ids", "4294967296"}), 2, "value '4294967296' for --ids is out of range");
  expect(run({"--ids", "99999999999999999999999"}), 2, "invalid integer '99999999999999999999999' for --ids");
  expect(run({"--ids", "1,,2"}), 2, "invalid integer '' for --ids");
  expect(run({"--ids", "1,x"}), 2, "invalid integer 'x' for --ids");
}

TEST_CASE("R03 a prompt longer than the context") {
  // One message and one exit code in every command (the model makes the prompt too long).
  expect(run({"--ids", ids_list(17)}), 1, "context full: 0 tokens + 17 new exceed the context of 16");
  expect(run({"--ids", ids_list(5), "-c", "4"}), 1, "context full: 0 tokens + 5 new exceed the context of 4");
  std::string text;
  for (int i = 0; i < 20; ++i) text += " the";
  expect(run({"-p", text}), 1, "new exceed the context of 16");
  expect(run_hmoe({"logits", "-m", model(), "--ids", ids_list(17)}), 1, "context full: 0 tokens + 17 new exceed the context of 16");
  // The core says which category: a full context, not a bad argument.
  Session s(load_seed(), threads(1));
  std::vector<int32_t> ids(17, 1);
  try {
    s.eval(ids.data(), 17, nullptr);
    FAIL("eval accepted 17 tokens in a context of 16");
  } catch (const Error& e) {
    CHECK(e.status() == Status::ContextFull);
  }
  // Generation stops at the end of the context instead of running past it.
  const CliResult fill = run({"--ids", ids_list(14), "-n", "100", "--temp", "0"});
  CHECK_MESSAGE(fill.exit_code == 0, fill.describe());
  CHECK(fill.err.find("generating 2 tokens, all the context leaves") != std::string::npos);
}

TEST_CASE("R04 a context larger than the model's, or negative") {
  expect(run({"--ids", "1", "-c", "17"}), 1, "n_ctx 17 is outside [0, n_positions=16]");
  expect(run({"--ids", "1", "-c", "-1"}), 2, "--ctx must be >= 0, got -1");
}

TEST_CASE("R05 zero threads means the default") {
  // 0 is documented as "all cores", not an error.
  const CliResult r = run({"--ids", "1,2", "-n", "1", "-t", "0"});
  CHECK_MESSAGE(r.exit_code == 0, r.describe());
}

TEST_CASE("R06 negative or absurd thread counts") {
  const std::string range = "--threads must be in [0, 4096] (0: the default), got ";
  expect(run({"--ids", "1", "-t", "-1"}), 2, range + "-1");
  expect(run({"--ids", "1", "-t", "100000"}), 2, range + "100000");
  expect(run({"--ids", "1", "-t", "99999999999"}), 2, range + "99999999999");
  expect(run({"--ids", "1", "-t", "99999999999999999999"}), 2, "invalid integer '99999999999999999999' for -t");
  // Every command that takes a thread count says it the same way (row C03).
  expect(run_hmoe({"logits", "-m", model(), "--ids", "1", "-t", "5000"}), 2, range + "5000");
  // The core refuses them too (runtime/kernels/threads.h decides the limit for all).
  for (int bad : {-1, 5000}) {
    try {
      Session(load_seed(), threads(bad));
      FAIL("Session accepted n_threads " << bad);
    } catch (const Error& e) {
      CHECK(e.status() == Status::InvalidArgument);
      CHECK(std::string(e.what()).find("n_threads is " + std::to_string(bad) + ", outside [0, 4096]") !=
            std::string::npos);
    }
    ModelOptions mo;
    mo.n_threads = bad;
    try {
      Model::load(model(), mo);
      FAIL("Model::load accepted n_threads " << bad);
    } catch (const Error& e) {
      CHECK(e.status() == Status::InvalidArgument);
    }
  }
}

TEST_CASE("R07 a negative or non-finite temperature") {
  expect(run({"--ids", "1", "--temp", "-0.5"}), 2, "temperature must be a finite number >= 0 (0 is greedy), got -0.5");
  expect(run({"--ids", "1", "--temp", "nan"}), 2, "invalid number 'nan' for --temp");
  expect(run({"--ids", "1", "--temp", "inf"}), 2, "invalid number 'inf' for --temp");
  // Finite as a double, infinite as the float it is stored in.
  expect(run({"--ids", "1", "--temp", "1e300"}), 2, "value '1e300' for --temp is out of range");
}

TEST_CASE("R08 top-p of 0, below 0 or above 1") {
  for (const char* v : {"0", "-0.1", "1.5"}) {
    CAPTURE(v);
    expect(run({"--ids", "1", "--top-p", v}), 2, "top_p must be in (0, 1] (1 is off), got");
  }
}

TEST_CASE("R09 other sampler values out of range") {
  expect(run({"--ids", "1", "--top-k", "-1"}), 2, "top_k must be >= 0 (0 is off), got -1");
  expect(run({"--ids", "1", "--repeat-penalty", "0"}), 2, "repetition_penalty must be a finite number > 0");
  expect(run({"--ids", "1", "-n", "-5"}), 2, "-n must be >= 0, got -5");
}

TEST_CASE("R10 invalid UTF-8 in a prompt") {
  expect(run({"-p", "caf\xe9"}), 1, "input is not valid UTF-8: byte 0xE9 at offset 3");
  TempFile f("prompt.txt");
  f.write({'o', 'k', ' ', 0xED, 0xA0, 0x80});  // an encoded surrogate half
  expect(run({"-f", f.path()}), 1, "byte 0xED at offset 3");
}

TEST_CASE("R11 a HyperExpert cache budget too small for one pattern") {
  expect(run({"--ids", "1", "--hyper-cache-mb", "0"}), 1, "cannot hold one HyperExpert");
  expect(run_hmoe({"logits", "-m", model(), "--ids", "1", "--hyper-cache-mb", "0"}), 1, "cannot hold one HyperExpert");
  expect(run({"--ids", "1", "--hyper-cache-mb", "-1"}), 2, "--hyper-cache-mb out of range");
  expect(run({"--ids", "1", "--hyper-cache-mb", "99999999999999"}), 2, "--hyper-cache-mb out of range");
  // The core names the sizes.
  ModelOptions mo;
  mo.n_threads = 1;
  mo.hyper_cache_bytes = 100;
  CHECK_THROWS_WITH_AS(Model::load(model(), mo), doctest::Contains("budget of 100 bytes"), std::invalid_argument);
}

TEST_CASE("R12 no prompt, an empty prompt, or text for a model without a tokenizer") {
  expect(run({}), 2, "give a prompt with -p TEXT, -f FILE or --ids");
  expect(run({"-p", ""}), 2, "the prompt is empty");
  TempFile empty("empty.txt");
  empty.write({});
  expect(run({"-f", empty.path()}), 2, "the prompt is empty");
  expect(run({"-p", "x", "--ids", "1"}), 2, "give only one of -p, -f and --ids");
  // What the model makes wrong is exit 1, in every command (rows C02, C04).
  expect(run_hmoe({"run", "-m", seed_model_path("plain_n4k2_f32"), "-p", "hello"}), 1,
         "has no tokenizer: it takes token ids only");
  expect(run({"-f", "no/such/prompt.txt"}), 1, "cannot open input file 'no/such/prompt.txt': No such file or directory");
}

TEST_CASE("R13 unknown options, missing values, bad choices") {
  expect(run({"--ids", "1", "--bogus"}), 2, "unknown option '--bogus'");
  expect(run({"--ids", "1", "--temp"}), 2, "option --temp needs a value");
  expect(run({"--ids", "1", "--stats=yes"}), 2, "option --stats takes no value");
  expect(run({"--ids", "1", "--hyper", "sometimes"}), 2, "--hyper must be table or pertoken, got 'sometimes'");
  expect(run_hmoe({"nosuchcommand"}), 2, "unknown command 'nosuchcommand'");
}
