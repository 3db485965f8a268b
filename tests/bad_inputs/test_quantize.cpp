// Row Q01 of tests/BAD_INPUTS.md: quantizing a file that is already quantized.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "formats/error.h"
#include "formats/model_file.h"
#include "quant/model_quantizer.h"
#include "tools/common/quantize_classes.h"
#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

using namespace hmoe;
using namespace hmoe::bad_inputs;

TEST_CASE("Q01 requantizing a quantized file: refused unless asked for, and the source type recorded") {
  TempDir dir("q01");
  const std::string q4 = seed_model_path("hyper_n3k2_q4"), out = dir.file("out.hmoe");
  // q4_0 -> q8_0 would keep q4's error with q8's size: refused before any work.
  const CliResult refused = run_hmoe({"quantize", q4, out, "--type", "q8"});
  const std::string problem = refusal_problem(refused, 1, "is already q4_0: requantizing it to q8_0");
  CHECK_MESSAGE(problem.empty(), problem);
  CHECK(refused.err.find("--allow-requantize") != std::string::npos);
  CHECK(dir.list().empty());
  quant::QuantizeOptions o;
  o.type = DType::Q8_0;
  o.classify = quantize_classes(*ModelFile::open(q4));
  try {
    quant::quantize_model(q4, out, o);
    FAIL("requantized without allow_requantize");
  } catch (const Error& e) {
    CHECK(e.status() == Status::InvalidArgument);
  }
  // Asked for, it runs, and the file says what it came from.
  const CliResult allowed = run_hmoe({"quantize", q4, out, "--type", "q8", "--allow-requantize"});
  CHECK_MESSAGE(allowed.exit_code == 0, allowed.describe());
  const auto file = ModelFile::open(out);
  CHECK(file->header().metadata_value("quantize.type") == "q8_0");
  CHECK(file->header().metadata_value("quantize.source_type") == "q4_0");
  // Dequantizing is requantizing too (it cannot bring the lost precision back).
  const CliResult to_f16 = run_hmoe({"quantize", q4, dir.file("f16.hmoe"), "--type", "f16"});
  CHECK(refusal_problem(to_f16, 1, "is already q4_0: requantizing it to f16").empty());
  // From f32 nothing is refused; the source type is recorded all the same.
  const std::string from_f32 = dir.file("from_f32.hmoe");
  const CliResult f32 = run_hmoe({"quantize", seed_model_path("hyper_n4k2_f32_tok"), from_f32, "--type", "q8"});
  CHECK_MESSAGE(f32.exit_code == 0, f32.describe());
  CHECK(ModelFile::open(from_f32)->header().metadata_value("quantize.source_type") == "f32");
  // Quantizing to the type the file already has copies its blocks: nothing to refuse.
  const CliResult same = run_hmoe({"quantize", q4, dir.file("same.hmoe"), "--type", "q4"});
  CHECK_MESSAGE(same.exit_code == 0, same.describe());
}
