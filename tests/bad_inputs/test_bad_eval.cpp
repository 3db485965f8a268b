// Rows E of tests/BAD_INPUTS.md: labelled files `hmoe eval` refuses, by line, before it
// loads a model, leaving no predictions file behind.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

using namespace hmoe::bad_inputs;

namespace {

const std::string kModel = seed_model_path("hyper_n4k2_f32_tok");

// `hmoe eval` on a TSV holding `text` refuses with exit 1 naming `fragment`, and
// writes no predictions file.
void expect_refused(const std::string& text, const std::string& fragment) {
  TempDir dir("eval");
  const std::string tsv = dir.file("data.tsv"), predictions = dir.file("predictions.tsv");
  write_file(tsv, std::vector<uint8_t>(text.begin(), text.end()));
  const std::string p = refusal_problem(
      run_hmoe({"eval", "-m", kModel, "--data", tsv, "--predictions", predictions}), 1, fragment);
  CHECK_MESSAGE(p.empty(), p);
  CHECK(dir.list() == std::vector<std::string>{"data.tsv"});
}

}  // namespace

TEST_CASE("E00 control: a well-formed TSV is scored and its predictions written") {
  TempDir dir("eval");
  const std::string tsv = dir.file("data.tsv"), predictions = dir.file("predictions.tsv");
  const std::string text = "In the beginning\tGod\r\nAnd it was so\t.\n";
  write_file(tsv, std::vector<uint8_t>(text.begin(), text.end()));
  const CliResult r = run_hmoe({"eval", "-m", kModel, "--data", tsv, "--predictions", predictions, "-o", "json"});
  CHECK_MESSAGE(r.exit_code == 0, r.describe());
  CHECK(r.out.find("\"rows\": 2") != std::string::npos);
  CHECK(read_file(predictions).size() > 0);
}

TEST_CASE("E01 a row without its expected output, or with a third column") {
  expect_refused("a\tb\nonly one column\n", "line 2: needs two tab-separated columns (input, expected output), has one");
  expect_refused("a\tb\tc\n", "line 1: has more than two tab-separated columns");
  expect_refused("\tb\n", "line 1: the input is empty");
}

TEST_CASE("E02 invalid UTF-8 in a row") {
  expect_refused("a\tb\ncaf\xe9\tc\n", "line 2: not valid UTF-8 (byte 4 of the line)");
  expect_refused("\xed\xa0\x80\tc\n", "line 1: not valid UTF-8 (byte 1 of the line)");  // an encoded surrogate
}

TEST_CASE("E03 an empty labelled file") {
  expect_refused("", "holds no rows");
}
