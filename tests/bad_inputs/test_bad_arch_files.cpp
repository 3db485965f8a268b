// Rows A of tests/BAD_INPUTS.md: files that do not match their architecture's
// declaration (runtime/model/arch.h), Switch Transformer files among them, and the one
// validation every reader goes through (Model::load, hmoe quantize, --bake-hyper).
#include <doctest/doctest.h>

#include <unistd.h>

#include <string>
#include <vector>

#include "runtime/model/model.h"
#include "runtime/model/session.h"
#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

using namespace hmoe;
using namespace hmoe::bad_inputs;

namespace {

const char* const kSwitch = "switch_hyper_f32";        // V 64, d 16, 2 + 2 blocks, N 3, capacity 4
const char* const kSwitchPlain = "switch_plain_untied_f16";
const char* const kGpt2 = "hyper_n4k2_f32_tok";

std::vector<uint8_t> seed(const std::string& stem) { return read_file(seed_model_path(stem)); }

std::string core_error(const std::vector<uint8_t>& bytes) {
  ModelOptions mo;
  mo.n_threads = 1;
  try {
    Model::load_from_memory(bytes.data(), bytes.size(), mo);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

// Core and `hmoe logits` both refuse, naming `fragment`; `hmoe quantize` too, writing nothing.
void expect_refused(const std::vector<uint8_t>& bytes, const std::string& fragment, bool switch_args = false) {
  const std::string core = core_error(bytes);
  CHECK_MESSAGE(core.find(fragment) != std::string::npos, "core: \"" << core << "\", expected \"" << fragment << "\"");
  TempFile f("model.hmoe");
  f.write(bytes);
  std::vector<std::string> args = {"logits", "-m", f.path(), "--ids", "0"};
  if (switch_args) args.insert(args.end(), {"--encoder-ids", "1,2"});
  const std::string cli = refusal_problem(run_hmoe(args), 1, fragment);
  CHECK_MESSAGE(cli.empty(), "hmoe logits: " << cli);
  const std::string out = f.path() + ".q8.hmoe";
  const std::string q = refusal_problem(run_hmoe({"quantize", f.path(), out, "--type", "q8"}), 1, fragment);
  CHECK_MESSAGE(q.empty(), "hmoe quantize: " << q);
  CHECK_MESSAGE(access(out.c_str(), F_OK) != 0, "hmoe quantize left " << out);
}

}  // namespace

TEST_CASE("A00 control: the Switch seeds load, encode and decode, quantize writes a file that runs") {
  for (const char* stem : {kSwitch, kSwitchPlain}) {
    CAPTURE(stem);
    const std::vector<uint8_t> rebuilt = ModelSurgery(seed(stem)).build();
    CHECK(core_error(rebuilt).empty());
    TempFile f("control.hmoe");
    f.write(rebuilt);
    const CliResult r = run_hmoe({"logits", "-m", f.path(), "--encoder-ids", "1,2,3", "--ids", "0,5"});
    CHECK_MESSAGE(r.exit_code == 0, r.describe());
    const std::string out = f.path() + ".f16.hmoe";
    CHECK_MESSAGE(run_hmoe({"quantize", f.path(), out, "--type", "f16"}).exit_code == 0, out);
    const CliResult q = run_hmoe({"logits", "-m", out, "--encoder-ids", "1,2,3", "--ids", "0,5"});
    CHECK_MESSAGE(q.exit_code == 0, q.describe());
    unlink(out.c_str());
  }
}

TEST_CASE("A01 Switch hyper-parameters the architecture cannot run") {
  const struct {
    const char* what;
    void (*edit)(fb::HParamsT&);
    const char* says;
  } cases[] = {
      {"top-2 routing", [](fb::HParamsT& h) { h.top_k = 2; }, "hyper-parameter top_k = 2 is outside [1, 1]"},
      {"2 position buckets", [](fb::HParamsT& h) { h.relative_attention_num_buckets = 2; },
       "relative_attention_num_buckets = 2 is outside [4, 1024]"},
      {"max distance within the exact buckets", [](fb::HParamsT& h) { h.relative_attention_max_distance = 4; },
       "relative_attention_max_distance = 4 is outside [5, "},
      {"a start token past the vocabulary", [](fb::HParamsT& h) { h.decoder_start_token_id = 64; },
       "decoder_start_token_id = 64 is outside [0, 63]"},
      {"no expert capacity", [](fb::HParamsT& h) { h.expert_capacity = 0; },
       "expert_capacity = 0 is outside [1, "},
      {"no decoder", [](fb::HParamsT& h) { h.n_decoder_layer = 0; }, "n_decoder_layer = 0 is outside [1, 1024]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    ModelSurgery m(seed(kSwitch));
    c.edit(m.hparams());
    expect_refused(m.build(), c.says, true);
  }
}

TEST_CASE("A02 a hyper-parameter that means nothing to the file's architecture") {
  ModelSurgery sparse(seed(kGpt2));
  sparse.hparams().encoder_sparse_step = 2;
  expect_refused(sparse.build(), "hyper-parameter encoder_sparse_step = 2 means nothing to a gpt2-hypermoe model");
  ModelSurgery heads(seed(kGpt2));
  heads.hparams().d_kv = 5;
  expect_refused(heads.build(), "d_kv 5 is not n_embd / n_head = 8");
}

TEST_CASE("A03 a tensor the architecture does not declare") {
  // use_hypernet switched off: the hypernetwork's tensors are left over, not silently ignored.
  ModelSurgery plain(seed(kGpt2));
  plain.hparams().use_hypernet = false;
  expect_refused(plain.build(), "is not part of a gpt2-hypermoe model with these hyper-parameters (plain MoE)");
  ModelSurgery renamed(seed(kSwitch));
  renamed.tensor("enc.blk.1.moe.gate").name = "enc.blk.0.moe.gate";  // a router on a dense block
  expect_refused(renamed.build(), "tensor 'enc.blk.1.moe.gate' is missing", true);
}

TEST_CASE("A04 a Switch tensor missing or misshapen") {
  ModelSurgery missing(seed(kSwitch));
  missing.tensor("dec.blk.0.cross.kv.weight").name = "dec.blk.0.cross.kv";
  expect_refused(missing.build(), "tensor 'dec.blk.0.cross.kv.weight' is missing", true);
  ModelSurgery shape(seed(kSwitch));
  shape.tensor("enc.rel_bias").shape = {2, 8};  // [heads, buckets] for [buckets, heads]
  expect_refused(shape.build(), "tensor 'enc.rel_bias' has shape [2, 8], the hyper-parameters need [8, 2]", true);
  ModelSurgery router(seed(kSwitchPlain));  // a router bias the hyper-parameters do not announce
  router.hparams().router_bias = false;
  expect_refused(router.build(), "tensor 'enc.blk.1.moe.gate_bias' is not part of a switch-hypermoe model", true);
}

TEST_CASE("A05 decoding an encoder-decoder without an input, or encoding with a decoder-only model") {
  const std::string sw = seed_model_path(kSwitch), gpt2 = seed_model_path(kGpt2);
  std::string p = refusal_problem(run_hmoe({"logits", "-m", sw, "--ids", "0"}), 2,
                                  "this model is an encoder-decoder: give --encoder-ids too");
  CHECK_MESSAGE(p.empty(), p);
  p = refusal_problem(run_hmoe({"logits", "-m", gpt2, "--encoder-ids", "1", "--ids", "0"}), 2,
                      "--encoder-ids: this model is decoder-only");
  CHECK_MESSAGE(p.empty(), p);
  p = refusal_problem(run_hmoe({"logits", "-m", sw, "--encoder-ids", "1,64", "--ids", "0"}), 1,
                      "token id 64 at position 1 is outside the vocabulary [0, 64)");
  CHECK_MESSAGE(p.empty(), p);
  Session s(Model::load(sw));
  const int32_t start = 0;
  try {
    s.eval(&start, 1, nullptr);
    FAIL("decoded before encoding");
  } catch (const Error& e) {
    CHECK(e.status() == Status::InvalidArgument);
  }
}

TEST_CASE("A06 quantize --bake-hyper refuses a plain or an already baked model before any work") {
  TempFile dir("bake");
  const std::string out = dir.path() + ".out.hmoe";
  std::string p = refusal_problem(
      run_hmoe({"quantize", seed_model_path("plain_n4k2_f32"), out, "--type", "f16", "--bake-hyper"}), 1,
      "is plain MoE: there is no HyperExpert to bake");
  CHECK_MESSAGE(p.empty(), p);
  CHECK(access(out.c_str(), F_OK) != 0);
  p = refusal_problem(
      run_hmoe({"quantize", seed_model_path("hyper_n3k2_q8_baked"), out, "--type", "q8", "--bake-hyper"}), 1,
      "is already baked");
  CHECK_MESSAGE(p.empty(), p);
  CHECK(access(out.c_str(), F_OK) != 0);
}

TEST_CASE("R15 run on an encoder-decoder: -i and --context-shift continue a text, refused before any output") {
  const std::string sw = seed_model_path(kSwitch);
  std::string p = refusal_problem(run_hmoe({"run", "-m", sw, "-i", "-p", "x"}), 2,
                                  "-i continues a text: an encoder-decoder answers one input per run");
  CHECK_MESSAGE(p.empty(), p);
  p = refusal_problem(run_hmoe({"run", "-m", sw, "--context-shift", "--ids", "1,2"}), 2,
                      "--context-shift continues a text: an encoder-decoder answers one input");
  CHECK_MESSAGE(p.empty(), p);
  // Control: the same model answers --ids (the encoder's input) with the greedy ids of logits --greedy.
  const CliResult run = run_hmoe({"run", "-m", sw, "--ids", "1,2", "-n", "3"});
  const CliResult greedy = run_hmoe({"logits", "-m", sw, "--encoder-ids", "1,2", "--ids", "0", "--greedy", "3"});
  REQUIRE_MESSAGE(run.exit_code == 0, run.describe());
  REQUIRE_MESSAGE(greedy.exit_code == 0, greedy.describe());
  const std::string answer = run.out.substr(0, run.out.size() - 1), shown = answer + " vs " + greedy.out;
  CHECK_MESSAGE(greedy.out.rfind(answer, 0) == 0, shown);
}
