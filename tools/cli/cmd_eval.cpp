// `hmoe eval`: scores a labelled file the way GLUE is scored in text-to-text form. Each
// row is (input, expected output); the model answers each input greedily and the
// answer, decoded and stripped, is compared with the expected text (exact match). When
// every expected output is a number (a regression task such as STS-B) the answers are
// also read as numbers and scored by Pearson and Spearman correlation.
//
// Encoder-decoder models (Switch) encode the input and decode an answer from their start
// token until end-of-sequence, as the authors' GLUE evaluation does. Decoder-only models
// (GPT-2) continue the input: the answer is what they write before a newline or the end
// of text, at most the expected output's length plus 8 tokens.
//
// Rows are independent: each is a fresh answer (a new encode, or a reset context), so
// the predictions do not depend on the order of the file or on the thread count.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/api/hypermoe.hpp"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/inputs.h"
#include "tools/cli/json.h"
#include "tools/cli/model_flags.h"
#include "tools/cli/output.h"
#include "tools/cli/output_file.h"
#include "tools/cli/progress.h"
#include "tools/common/eval_metrics.h"

namespace hmoe::cli {
namespace {

struct Row {
  std::string input, expected;
};

// Where the first byte that does not start a valid UTF-8 character lies, or npos.
size_t invalid_utf8_at(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong = (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n;
  }
  return std::string::npos;
}

// The rows of a TSV: one per line, two tab-separated fields (input, expected output),
// UTF-8, a final newline optional, CRLF line ends accepted. Anything else is refused
// naming the line, before any model is loaded (exit 1: the flags were right, the file
// is not).
std::vector<Row> parse_tsv(const std::string& text, const std::string& path) {
  std::vector<Row> rows;
  size_t at = 0, line_no = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = "'" + path + "' line " + std::to_string(line_no) + ": ";
    const size_t bad = invalid_utf8_at(line);
    if (bad != std::string::npos)
      throw hypermoe::Error(HMOE_ERR_INVALID_ARGUMENT, where + "not valid UTF-8 (byte " + std::to_string(bad + 1) + " of the line)");
    const size_t tab = line.find('\t');
    if (tab == std::string::npos)
      throw hypermoe::Error(HMOE_ERR_INVALID_ARGUMENT, where + "needs two tab-separated columns (input, expected output), has one");
    if (line.find('\t', tab + 1) != std::string::npos)
      throw hypermoe::Error(HMOE_ERR_INVALID_ARGUMENT, where + "has more than two tab-separated columns");
    Row r{line.substr(0, tab), line.substr(tab + 1)};
    if (r.input.find_first_not_of(" \t") == std::string::npos) throw hypermoe::Error(HMOE_ERR_INVALID_ARGUMENT, where + "the input is empty");
    rows.push_back(std::move(r));
  }
  if (rows.empty()) throw hypermoe::Error(HMOE_ERR_INVALID_ARGUMENT, "'" + path + "' holds no rows");
  return rows;
}

std::string number_json(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

int run_eval(const std::vector<std::string>& argv) {
  return guarded("eval", [&] {
    ModelFlags mf;
    std::string data_path, predictions_path, output = "text";
    int max_tokens = 32, limit = 0;
    ArgParser p("eval", "[-m FILE] --data FILE.tsv [--max-tokens N] [--predictions OUT.tsv] [-o text|json]",
                "Scores a labelled TSV (input TAB expected output, one row per line, UTF-8): the model's\n"
                "greedy answer to each input, decoded and stripped, against the expected text (exact\n"
                "match); when every expected output is a number, also Pearson and Spearman correlations.\n"
                "Encoder-decoder models answer from their start token until end-of-sequence (at most\n"
                "--max-tokens); decoder-only models continue the input until a newline or end of text.");
    mf.declare(p);
    p.path("--data", &data_path, "the labelled TSV; - reads standard input")
        .opt("--max-tokens", &max_tokens, "longest answer of an encoder-decoder, in tokens (default 32)")
        .opt("--limit", &limit, "score only the first N rows (default: all)")
        .path("--predictions", &predictions_path, "also write input, expected, predicted, correct per row (TSV)")
        .opt("-o,--output", &output, "text (default) or json");
    if (!p.parse(argv)) return kExitOk;
    if (data_path.empty()) throw UsageError("missing --data FILE.tsv");
    if (max_tokens < 1) throw UsageError("--max-tokens must be >= 1, got " + std::to_string(max_tokens));
    if (limit < 0) throw UsageError("--limit must be >= 0, got " + std::to_string(limit));
    if (output != "text" && output != "json") throw UsageError("-o must be text or json, got '" + output + "'");
    mf.check();
    std::vector<Row> rows = parse_tsv(read_input(data_path), data_path);
    if (limit > 0 && static_cast<size_t>(limit) < rows.size()) rows.resize(static_cast<size_t>(limit));
    // Checked (and its temporary file made) before any work: nothing half-written on failure.
    std::unique_ptr<OutputFile> predictions;
    if (!predictions_path.empty()) predictions = std::make_unique<OutputFile>(predictions_path);

    const hypermoe::Model model = mf.load();
    const hypermoe::ModelInfo info = model.info();
    if (!info.has_tokenizer) throw hypermoe::Error(HMOE_ERR_UNSUPPORTED, "this model has no tokenizer: eval needs text");
    hypermoe::SessionParams sp = mf.session_params();
    sp.sampling = hypermoe::SamplingParams::greedy();
    hypermoe::Session s(model, sp);

    std::vector<std::string> predicted(rows.size());
    size_t correct = 0, answer_tokens = 0;
    ProgressBar bar;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::vector<int32_t> in = model.tokenize(rows[i].input);
      hypermoe::GenerateOptions opt;
      hypermoe::Generation g;
      if (info.encoder_decoder) {
        s.encode(in);  // T5's tokenizer ends the input with </s>, as the model was trained
        opt.max_tokens = max_tokens;
        g = s.generate({}, opt);
      } else {
        s.reset();
        opt.max_tokens = static_cast<int32_t>(model.tokenize(" " + rows[i].expected).size()) + 8;
        opt.stop_strings = {"\n"};
        g = s.generate(in, opt);
      }
      answer_tokens += g.tokens.size();
      std::string text = model.detokenize(g.tokens, HMOE_DETOKENIZE_SKIP_SPECIAL);
      if (!info.encoder_decoder) text = text.substr(0, text.find('\n'));
      predicted[i] = strip_answer(text);
      correct += predicted[i] == strip_answer(rows[i].expected) ? 1 : 0;
      bar.update(static_cast<double>(i + 1) / static_cast<double>(rows.size()),
                 std::to_string(i + 1) + "/" + std::to_string(rows.size()) + " rows");
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // A regression task: every expected output a number.
    bool numeric = true;
    std::vector<double> want, got;
    size_t unparsed = 0;
    for (size_t i = 0; i < rows.size() && numeric; ++i) {
      double e = 0, a = 0;
      numeric = parse_number(strip_answer(rows[i].expected), &e);
      if (!numeric) break;
      if (parse_number(predicted[i], &a)) {
        want.push_back(e);
        got.push_back(a);
      } else {
        ++unparsed;
      }
    }
    const double pr = numeric && want.size() > 1 ? pearson(want, got) : NAN;
    const double sr = numeric && want.size() > 1 ? spearman(want, got) : NAN;

    if (predictions) {
      for (size_t i = 0; i < rows.size(); ++i) {
        const std::string line = rows[i].input + "\t" + rows[i].expected + "\t" + predicted[i] + "\t" +
                                 (predicted[i] == strip_answer(rows[i].expected) ? "1" : "0") + "\n";
        predictions->write(line.data(), line.size());
      }
      predictions->commit();
    }
    const double accuracy = static_cast<double>(correct) / static_cast<double>(rows.size());
    if (output == "json") {
      std::string o = "{\"data\": " + json_quote(data_path) + ", \"rows\": " + std::to_string(rows.size()) +
                      ", \"correct\": " + std::to_string(correct) + ", \"accuracy\": " + number_json(accuracy);
      if (numeric)
        o += ", \"pearson\": " + number_json(pr) + ", \"spearman\": " + number_json(sr) +
             ", \"unparsed\": " + std::to_string(unparsed);
      o += ", \"seconds\": " + number_json(seconds) + ", \"rows_per_second\": " +
           number_json(static_cast<double>(rows.size()) / std::max(seconds, 1e-9)) +
           ", \"answer_tokens\": " + std::to_string(answer_tokens) + "}\n";
      out("%s", o.c_str());
    } else {
      out("%s: %zu rows, exact match %zu (%.2f%%)\n", data_path.c_str(), rows.size(), correct, 100.0 * accuracy);
      if (numeric)
        out("regression: Pearson %s, Spearman %s over %zu parsed answers (%zu not numbers)\n",
            number_json(pr).c_str(), number_json(sr).c_str(), want.size(), unparsed);
      out("speed: %.1f rows/s, %zu answer tokens in %.2f s\n", rows.size() / std::max(seconds, 1e-9), answer_tokens,
          seconds);
    }
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("eval", "score a labelled TSV of (input, expected output) rows: exact match, correlations", run_eval);

}  // namespace hmoe::cli
