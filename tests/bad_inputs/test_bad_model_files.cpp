// Rows F of tests/BAD_INPUTS.md: bad model files. Each is made from a seed model by one
// change, then refused twice: by the C++ core (Model::load_from_memory, FormatError
// naming what is wrong) and by the command line (`hmoe logits`, exit 1, one error line).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "formats/file_prefix.h"
#include "formats/model_file.h"
#include "runtime/model/model.h"
#include "runtime/model/session.h"
#include "runtime/model/weight_check.h"
#include "runtime/text/model_tokenizer.h"
#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

using namespace hmoe;
using namespace hmoe::bad_inputs;

namespace {

const char* const kHyper = "hyper_n4k2_f32_tok";  // d 16, N 4, k 2, V 300, P 16, tokenizer

std::vector<uint8_t> seed(const std::string& stem = kHyper) { return read_file(seed_model_path(stem)); }

// What the core says about these bytes: "" when they load.
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

std::string cli_problem(const std::vector<uint8_t>& bytes, const std::string& fragment, int code = 1) {
  TempFile f("model.hmoe");
  f.write(bytes);
  return refusal_problem(run_hmoe({"logits", "-m", f.path(), "--ids", "0"}), code, fragment);
}

// The row's one check: core and CLI both refuse, naming `fragment`.
void expect_refused(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  const std::string core = core_error(bytes);
  CHECK_MESSAGE(core.find(fragment) != std::string::npos, "core: \"" << core << "\", expected \"" << fragment << "\"");
  const std::string cli = cli_problem(bytes, fragment);
  CHECK_MESSAGE(cli.empty(), "hmoe logits: " << cli);
}

}  // namespace

TEST_CASE("F00 control: the seed, unpacked and packed again, loads and runs") {
  for (const char* stem : {kHyper, "plain_n4k2_f32"}) {
    CAPTURE(stem);
    const std::vector<uint8_t> rebuilt = ModelSurgery(seed(stem)).build();
    CHECK(core_error(rebuilt).empty());
    TempFile f("control.hmoe");
    f.write(rebuilt);
    const CliResult r = run_hmoe({"logits", "-m", f.path(), "--ids", "0,1"});
    CHECK_MESSAGE(r.exit_code == 0, r.describe());
  }
}

TEST_CASE("F01 empty file") {
  const std::string cli = cli_problem({}, "is 0 bytes, too small for a .hmoe file");
  CHECK_MESSAGE(cli.empty(), cli);
  CHECK(core_error({}).find("too small") != std::string::npos);
}

TEST_CASE("F02 not a model file (wrong magic)") {
  const std::string text = "{\"this\": \"is a JSON file, not a model, but long enough to pass the size check\"}";
  expect_refused(std::vector<uint8_t>(text.begin(), text.end()), "not a .hmoe file (bad magic)");
  std::vector<uint8_t> gguf = seed();
  std::memcpy(gguf.data(), "GGUF", 4);
  expect_refused(gguf, "bad magic");
}

TEST_CASE("F03 a future format version") {
  ModelSurgery m(seed());
  m.set_format_version(kFormatVersion + 1);
  expect_refused(m.build(), "format version " + std::to_string(kFormatVersion + 1) + " is not supported");
  m.set_format_version(0);
  expect_refused(m.build(), "format version 0 is not supported");
}

TEST_CASE("F04 truncated file") {
  const std::vector<uint8_t> good = seed();
  for (size_t keep : {size_t{64}, good.size() / 2, good.size() - 1}) {
    CAPTURE(keep);
    expect_refused(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep)),
                   "truncated?");
  }
}

TEST_CASE("F05 a header that fails FlatBuffers verification") {
  std::vector<uint8_t> bad = seed();
  FilePrefix pre;
  std::memcpy(&pre, bad.data(), sizeof pre);
  const uint32_t root = 0x7FFFFFF0u;  // the root table's offset, far outside the header
  std::memcpy(bad.data() + pre.header_offset, &root, 4);
  expect_refused(bad, "header failed FlatBuffers verification");
}

TEST_CASE("F06 a tensor outside the data section") {
  ModelSurgery m(seed());
  m.tensor("ln_f.bias").offset += 1 << 20;
  expect_refused(m.build(), "tensor 'ln_f.bias': bytes [");
  ModelSurgery huge(seed());
  huge.tensor("ln_f.bias").offset = 0xFFFFFFFFFFFFFFC0ull;  // offset + size wraps around 2^64
  expect_refused(huge.build(), "lie outside the data section");
}

TEST_CASE("F07 overlapping tensors") {
  ModelSurgery m(seed());
  m.tensor("blk.0.ln1.bias").offset = m.tensor("blk.0.ln1.weight").offset;
  expect_refused(m.build(), "tensors 'blk.0.ln1.");
  expect_refused(m.build(), "overlap");
}

TEST_CASE("F08 a misaligned tensor") {
  ModelSurgery m(seed());
  m.tensor("blk.0.ln2.bias").offset += 4;
  expect_refused(m.build(), "tensor 'blk.0.ln2.bias': offset 24772 is not 64-byte aligned");
}

TEST_CASE("F09 a tensor of the wrong byte size") {
  ModelSurgery m(seed());
  m.tensor("blk.0.attn.out.weight").size -= 4;
  expect_refused(m.build(), "tensor 'blk.0.attn.out.weight': size is 1020 bytes, but f32 [16, 16] needs 1024");
}

TEST_CASE("F10 a shape that disagrees with the hyper-parameters") {
  ModelSurgery m(seed());
  m.tensor("blk.0.attn.qkv.weight").shape = {16, 48};  // transposed: same bytes, wrong shape
  expect_refused(m.build(), "tensor 'blk.0.attn.qkv.weight' has shape [16, 48], the hyper-parameters need [48, 16]");
  ModelSurgery experts(seed());
  experts.tensor("blk.0.moe.fc.weight").shape = {8, 32, 16};  // 8 experts in a 4-expert model
  expect_refused(experts.build(), "the hyper-parameters need [4, 64, 16]");
}

TEST_CASE("F11 an unknown dtype") {
  ModelSurgery m(seed());
  m.tensor("pos_embd").dtype = static_cast<fb::DType>(42);
  expect_refused(m.build(), "tensor 'pos_embd': unknown dtype 42");
}

TEST_CASE("F12 a dtype the tensor's role does not allow") {
  ModelSurgery m(seed());
  fb::TensorT& t = m.tensor("ln_f.weight");
  t.dtype = fb::DType::F16;  // a norm vector must be f32; [16] f16 is 32 bytes
  t.size = 32;
  expect_refused(m.build(), "tensor 'ln_f.weight' is f16, must be f32");
  ModelSurgery i32(seed());
  i32.tensor("blk.0.attn.out.weight").dtype = fb::DType::I32;  // same 4 bytes per element
  expect_refused(i32.build(), "tensor 'blk.0.attn.out.weight' is i32, must be a float or block type");
}

TEST_CASE("F13 a missing tensor") {
  ModelSurgery m(seed());
  m.tensor("ln_f.bias").name = "ln_f.bias_renamed";
  expect_refused(m.build(), "tensor 'ln_f.bias' is missing");
}

TEST_CASE("F14 inconsistent hyper-parameters") {
  SUBCASE("n_embd not a multiple of n_head") {
    ModelSurgery m(seed());
    m.hparams().n_head = 3;
    expect_refused(m.build(), "n_embd 16 is not a multiple of n_head 3");
  }
  SUBCASE("top_k above n_experts") {
    ModelSurgery m(seed());
    m.hparams().top_k = 5;
    expect_refused(m.build(), "hyper-parameter top_k = 5 is outside [1, 3]");
  }
  SUBCASE("top_k equal to n_experts in a HyperMoE model: no expert left to make a HyperExpert from") {
    ModelSurgery m(seed());
    m.hparams().top_k = 4;
    expect_refused(m.build(), "hyper-parameter top_k = 4 is outside [1, 3]");
  }
  SUBCASE("zero layers") {
    ModelSurgery m(seed());
    m.hparams().n_layer = 0;
    expect_refused(m.build(), "hyper-parameter n_layer = 0 is outside [1, 1024]");
  }
  SUBCASE("layer_norm_epsilon NaN") {
    ModelSurgery m(seed());
    m.hparams().layer_norm_epsilon = std::numeric_limits<float>::quiet_NaN();
    expect_refused(m.build(), "layer_norm_epsilon nan is outside (0, 1)");
  }
}

TEST_CASE("F15 absurd sizes") {
  SUBCASE("vocab_size of 4 billion") {
    ModelSurgery m(seed());
    m.hparams().vocab_size = 4000000000u;
    expect_refused(m.build(), "hyper-parameter vocab_size = 4000000000 is outside [1, 4194304]");
  }
  SUBCASE("a shape whose byte size overflows 64 bits") {
    ModelSurgery m(seed());
    m.tensor("ln_f.bias").shape = {int64_t{1} << 40, int64_t{1} << 40};
    expect_refused(m.build(), "tensor 'ln_f.bias': shape [1099511627776, 1099511627776] cannot be stored as f32");
  }
  SUBCASE("a negative dimension") {
    ModelSurgery m(seed());
    m.tensor("ln_f.bias").shape = {-16};
    expect_refused(m.build(), "shape [-16] cannot be stored as f32");
  }
}

TEST_CASE("F16 NaN or infinite weights") {
  // Refused: see runtime/model/weight_check.h for why (and tests/BAD_INPUTS.md).
  struct Poke {
    const char* tensor;
    int64_t index;
    float value;
    const char* says;
  };
  const float inf = std::numeric_limits<float>::infinity();
  for (const Poke& p : {Poke{"blk.0.moe.fc.weight", 2 * 64 * 16 + 5 * 16 + 3, std::nanf(""), "holds NaN at [2, 5, 3]"},
                        Poke{"tok_embd", 17, inf, "holds +inf at [1, 1]"},
                        Poke{"blk.0.ln1.bias", 15, -inf, "holds -inf at [15]"}}) {
    CAPTURE(p.tensor);
    ModelSurgery m(seed());
    m.poke_f32(p.tensor, p.index, p.value);
    const std::vector<uint8_t> bytes = m.build();
    auto file = ModelFile::from_memory(bytes.data(), bytes.size());  // the format itself is fine
    const std::string names = std::string("tensor '") + p.tensor + "' (f32 ";
    CHECK_THROWS_WITH_AS(check_weights_finite(*file), doctest::Contains(names.c_str()), FormatError);
    expect_refused(bytes, p.says);  // Model::load (check_weights is on by default) and hmoe logits
    // Turned off, the file loads (for who must inspect such a model).
    ModelOptions off;
    off.n_threads = 1;
    off.check_weights = false;
    off.hyper_precompute = false;
    CHECK_NOTHROW(Model::load_from_memory(bytes.data(), bytes.size(), off));
  }
  // The seeds themselves pass, in every dtype they use.
  for (const char* stem : {kHyper, "hyper_n4k1_f16_tok", "hyper_n3k2_l2_f16", "hyper_n3k2_l2_bf16", "plain_n4k2_f32",
                           "hyper_n3k2_q8_baked", "hyper_n3k2_q4"}) {
    CAPTURE(stem);
    const std::vector<uint8_t> bytes = seed(stem);
    CHECK_NOTHROW(check_weights_finite(*ModelFile::from_memory(bytes.data(), bytes.size())));
  }
}

TEST_CASE("F17 NaN or infinity in f16, bf16 and block-quantized storage") {
  // The check reads each dtype's own bit pattern; block types are checked by their scales.
  TensorInfo t;
  std::vector<uint8_t> buf(4096, 0);
  t.data = buf.data();
  SUBCASE("f16") {
    t.dtype = DType::F16;
    t.shape = {4, 8};
    const uint16_t nan16 = 0x7E00;
    std::memcpy(buf.data() + 2 * 13, &nan16, 2);
    CHECK(find_non_finite(t).index == 13);
  }
  SUBCASE("bf16") {
    t.dtype = DType::BF16;
    t.shape = {32};
    const uint16_t ninf = 0xFF80;
    std::memcpy(buf.data() + 2 * 31, &ninf, 2);
    const NonFinite r = find_non_finite(t);
    CHECK(r.index == 31);
    CHECK(r.value == -std::numeric_limits<float>::infinity());
  }
  SUBCASE("q8_0 scale") {
    t.dtype = DType::Q8_0;
    t.shape = {2, 64};  // 128 quants, then 4 f16 scales
    std::memset(buf.data(), 0x7F, 128);  // quants are integers: never NaN
    const uint16_t inf16 = 0x7C00;
    std::memcpy(buf.data() + 128 + 2 * 3, &inf16, 2);
    CHECK(find_non_finite(t).index == 3 * kQuantBlock);
  }
  SUBCASE("q4_0 scale") {
    t.dtype = DType::Q4_0;
    t.shape = {1, 64};  // 32 bytes of nibbles, then 2 scales
    std::memset(buf.data(), 0xFF, 32);
    const uint16_t nan16 = 0xFE01;
    std::memcpy(buf.data() + 32, &nan16, 2);
    CHECK(find_non_finite(t).index == 0);
  }
  SUBCASE("i32 holds no floats") {
    t.dtype = DType::I32;
    t.shape = {16};
    std::memset(buf.data(), 0xFF, 64);
    CHECK_FALSE(find_non_finite(t).found());
  }
  SUBCASE("a bad value found past the first chunk of the scan") {
    t.dtype = DType::F32;
    t.shape = {1000};
    const float nan = std::nanf("");
    std::memcpy(buf.data() + 4 * 999, &nan, 4);
    CHECK(find_non_finite(t).index == 999);
  }
}

TEST_CASE("F18 a tokenizer whose merges name tokens it lacks") {
  ModelSurgery m(seed());
  m.header().tokenizer->merges.push_back("no_such_token Ġthe");
  const std::vector<uint8_t> bytes = m.build();
  // The model itself is fine: token ids still work.
  CHECK(core_error(bytes).empty());
  auto file = ModelFile::from_memory(bytes.data(), bytes.size());
  CHECK_THROWS_WITH_AS(text::load_model_tokenizer(*file), doctest::Contains("\"no_such_token\" is not in the vocabulary"),
                       text::TokenizerError);
  TempFile f("tok.hmoe");
  f.write(bytes);
  const std::string cli = refusal_problem(run_hmoe({"run", "-m", f.path(), "-p", "In the beginning", "-n", "1"}), 1,
                                          "is not in the vocabulary");
  CHECK_MESSAGE(cli.empty(), cli);
}

TEST_CASE("F19 a tokenizer larger than the model's vocabulary") {
  ModelSurgery m(seed());
  m.header().tokenizer->vocab.push_back("Ġextra");
  const std::vector<uint8_t> bytes = m.build();
  auto file = ModelFile::from_memory(bytes.data(), bytes.size());
  CHECK_THROWS_WITH_AS(text::load_model_tokenizer(*file), doctest::Contains("has 301 tokens but the model's vocab_size is 300"),
                       text::TokenizerError);
  TempFile f("tok.hmoe");
  f.write(bytes);
  const std::string cli =
      refusal_problem(run_hmoe({"run", "-m", f.path(), "-p", "In the beginning", "-n", "1"}), 1, "has 301 tokens");
  CHECK_MESSAGE(cli.empty(), cli);
}

TEST_CASE("F20 a model path that is missing, a folder, or not readable as a file") {
  const std::string missing = refusal_problem(run_hmoe({"logits", "-m", "no/such/model.hmoe", "--ids", "0"}), 1,
                                              "cannot open model file 'no/such/model.hmoe'");
  CHECK_MESSAGE(missing.empty(), missing);
  const std::string folder = refusal_problem(run_hmoe({"logits", "-m", HMOE_SEED_MODELS_DIR, "--ids", "0"}), 1,
                                             "is not a regular file");
  CHECK_MESSAGE(folder.empty(), folder);
  const std::string device = refusal_problem(run_hmoe({"logits", "-m", "/dev/zero", "--ids", "0"}), 1,
                                             "is not a regular file");
  CHECK_MESSAGE(device.empty(), device);
}

TEST_CASE("F21 finite weights whose HyperExperts overflow the table's dtype") {
  // f16 model: the cache stores HyperExperts in f16, which holds at most 65504. A bias of
  // 1e30 in the generator (a finite f32, so F16's check passes) makes every generated
  // down-projection overflow it: the file is unusable at its precision, a FormatError
  // naming the layer and the expert set, whichever path generates the HyperExpert.
  ModelSurgery m(seed("hyper_n4k1_f16_tok"));
  m.poke_f32("hyper.weight_down.bias", 0, 1e30f);
  const std::vector<uint8_t> bytes = m.build();
  auto file = ModelFile::from_memory(bytes.data(), bytes.size());
  CHECK_NOTHROW(check_weights_finite(*file));
  // Every pattern fits the default budget, so they are generated at load, which refuses
  // at the first pattern of the first layer (k = 1: expert set {0}).
  const std::string fragment = "layer 0, expert set {0}: the hypernetwork generates a HyperExpert that f16 cannot hold";
  expect_refused(bytes, fragment);
  CHECK(core_error(bytes).find("unusable at f16 precision") != std::string::npos);
  // On demand (and per token), the first eval whose pattern is generated refuses, names
  // that pattern, and leaves the context as it was.
  ModelOptions mo;
  mo.n_threads = 1;
  mo.hyper_precompute = false;
  auto model = Model::load_from_memory(bytes.data(), bytes.size(), mo);
  for (HyperMode mode : {HyperMode::Table, HyperMode::PerToken}) {
    CAPTURE(static_cast<int>(mode));
    SessionOptions so;
    so.n_threads = 1;
    so.hyper_mode = mode;
    Session s(model, so);
    const int32_t id = 1;
    std::string error;
    try {
      s.eval(&id, 1, nullptr);
    } catch (const FormatError& e) {
      error = e.what();
    }
    CHECK_MESSAGE(error.find("layer 0, expert set {") != std::string::npos, "eval: \"" << error << "\"");
    CHECK_MESSAGE(error.find("f16 cannot hold") != std::string::npos, "eval: \"" << error << "\"");
    CHECK(s.n_past() == 0);
  }
  // The fuzzer's finding: a generator bias mutated to about -8.7e31, with NaN elsewhere
  // that the fuzzer had loaded with the weight check off. Refused the same way then.
  const std::vector<uint8_t> found = read_file(HMOE_FUZZ_REGRESSIONS_DIR "/model_loader/hyper_f16_overflow");
  mo.check_weights = false;
  for (bool precompute : {true, false}) {
    CAPTURE(precompute);
    mo.hyper_precompute = precompute;
    std::string error;
    try {
      auto m2 = Model::load_from_memory(found.data(), found.size(), mo);
      SessionOptions so;
      so.n_threads = 1;
      Session s(m2, so);
      const int32_t ids[2] = {0, 1};
      s.eval(ids, 2, nullptr);
    } catch (const FormatError& e) {
      error = e.what();
    }
    CHECK_MESSAGE(error.find("f16 cannot hold") != std::string::npos, "\"" << error << "\"");
  }
}

TEST_CASE("F22 a tensor shape vector at a misaligned address") {
  // Found by fuzz_model_loader: FlatBuffers 2.0.8's Verifier does not check that a
  // vector's 8-byte elements are aligned, so a crafted header passed it and reading the
  // shape was undefined behaviour (UBSan: misaligned load of 'const long').
  const std::vector<uint8_t> bytes = read_file(HMOE_FUZZ_REGRESSIONS_DIR "/model_loader/misaligned_shape_vector");
  expect_refused(bytes, "shape vector is not 8-byte aligned (corrupt header)");
}

TEST_CASE("F23 tiny layer-norm weights: subnormal activations into the int8 path") {
  // Not a refusal: such weights are finite and legal, and the model must run with
  // well-defined arithmetic. With layer-norm gains of 1e-39 (subnormal) and zero biases,
  // the activations entering the q8_0 / q4_0 products are below 1e-37, where the int8
  // path's 127 / max|x| overflows to infinity: the codes were computed as x * inf
  // (infinity, NaN for x = 0) and converted to integers, which is undefined behaviour
  // (UBSan float-cast-overflow). Such activations contribute nothing next to the biases,
  // so the logits must be finite and those of the same model with gains of exactly 0.
  for (const char* stem : {"hyper_n3k2_q4", "hyper_n3k2_q8_baked"}) {
    CAPTURE(stem);
    auto with_gain = [&](float gain) {
      ModelSurgery m(seed(stem));
      const int64_t d = m.hparams().n_embd;
      for (int64_t l = 0; l < m.hparams().n_layer; ++l)
        for (const char* ln : {".ln1", ".ln2"}) {
          const std::string p = "blk." + std::to_string(l) + ln;
          for (int64_t i = 0; i < d; ++i) {
            m.poke_f32(p + ".weight", i, gain);
            m.poke_f32(p + ".bias", i, 0.f);
          }
        }
      return m.build();
    };
    const std::vector<uint8_t> tiny = with_gain(1e-39f), zero = with_gain(0.f);
    auto logits = [](const std::vector<uint8_t>& bytes) {
      ModelOptions mo;
      mo.n_threads = 1;
      auto model = Model::load_from_memory(bytes.data(), bytes.size(), mo);
      SessionOptions so;
      so.n_threads = 1;
      Session s(model, so);
      const int32_t ids[3] = {1, 2, 3};
      std::vector<float> out(static_cast<size_t>(3 * model->hparams().vocab_size));
      s.eval(ids, 3, out.data(), /*all_positions=*/true);
      return out;
    };
    const std::vector<float> a = logits(tiny), b = logits(zero);
    float range = 0.f, worst = 0.f;
    for (size_t i = 0; i < a.size(); ++i) {
      REQUIRE(std::isfinite(a[i]));
      range = std::max(range, std::fabs(b[i]));
      worst = std::max(worst, std::fabs(a[i] - b[i]));
    }
    CHECK(worst <= 1e-5f * std::max(range, 1.f));
    TempFile f("tiny_gain.hmoe");
    f.write(tiny);
    const CliResult r = run_hmoe({"logits", "-m", f.path(), "--ids", "1,2,3"});
    CHECK_MESSAGE(r.exit_code == 0, r.describe());
  }
}
