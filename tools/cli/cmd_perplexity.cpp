// `hmoe perplexity`: perplexity of a model on a text file, with a sliding window as the
// training tools score held-out text (tools/train/eval_ppl.py): the text is preceded by
// end-of-text, each window holds --ctx tokens and scores only the tokens no earlier
// window scored, so every token after the first window sees at least ctx - stride
// tokens of context.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "runtime/model/session.h"
#include "runtime/text/model_tokenizer.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/default_model.h"
#include "tools/cli/progress.h"

namespace hmoe::cli {
namespace {

// log-softmax of `logits` at `target`, in double precision.
double log_prob(const float* logits, int64_t V, int32_t target) {
  double mx = logits[0];
  for (int64_t v = 1; v < V; ++v) mx = std::max<double>(mx, logits[v]);
  double sum = 0;
  for (int64_t v = 0; v < V; ++v) sum += std::exp(logits[v] - mx);
  return logits[target] - mx - std::log(sum);
}

int run_perplexity(const std::vector<std::string>& argv) {
  return guarded("perplexity", [&] {
    std::string model_path, text_path, hyper = "table";
    int ctx = 0, stride = 0, threads = 0;
    bool json = false;
    ArgParser p("perplexity", "[-m FILE] -f TEXT [--ctx N] [--stride S] [-t THREADS] [--json]",
                "Perplexity per token of a text file (preceded by end-of-text), scored with a sliding\n"
                "window of --ctx tokens moved by --stride; prints perplexity, bits per byte and speed.");
    p.opt("-m,--model", &model_path, "model file (.hmoe); default: the shipped model")
        .opt("-f,--file", &text_path, "text file to score")
        .opt("--ctx", &ctx, "window length in tokens (default: the model's context)")
        .opt("--stride", &stride, "tokens the window moves by (default: ctx / 2)")
        .opt("-t,--threads", &threads, "threads (default: all cores)")
        .opt("--hyper", &hyper, "HyperExpert path: table (default) or pertoken")
        .flag("--json", &json, "print one JSON line instead of text");
    if (!p.parse(argv)) return 0;
    if (text_path.empty()) throw UsageError("missing -f TEXT");
    if (threads < 0 || threads > 4096) throw UsageError("--threads must be in [0, 4096], got " + std::to_string(threads));
    if (ctx < 0) throw UsageError("--ctx must be > 0, got " + std::to_string(ctx));
    if (stride < 0) throw UsageError("--stride must be > 0, got " + std::to_string(stride));
    SessionOptions so;
    so.n_threads = threads;
    if (hyper == "table") so.hyper_mode = HyperMode::Table;
    else if (hyper == "pertoken") so.hyper_mode = HyperMode::PerToken;
    else throw UsageError("--hyper must be table or pertoken, got '" + hyper + "'");

    std::ifstream f(text_path, std::ios::binary);
    if (!f) throw UsageError("cannot read '" + text_path + "'");
    std::ostringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    if (text.empty()) throw UsageError("'" + text_path + "' is empty");

    if (model_path.empty()) model_path = find_default_model();
    ModelOptions mo;
    mo.n_threads = threads;
    auto model = Model::load(model_path, mo);
    auto tok = text::load_model_tokenizer(model->file());
    if (!tok) throw std::runtime_error("this model has no tokenizer; perplexity needs one to read text");
    const int64_t window = ctx ? ctx : model->hparams().n_positions;
    if (window > model->hparams().n_positions)
      throw UsageError("--ctx " + std::to_string(window) + " exceeds the model's context of " +
                       std::to_string(model->hparams().n_positions));
    const int64_t step = stride ? stride : std::max<int64_t>(1, window / 2);
    if (step > window) throw UsageError("--stride must be at most --ctx");

    std::vector<int32_t> seq;
    if (tok->eos_id() >= 0) seq.push_back(tok->eos_id());
    text::EncodeOptions eo;
    eo.special_tokens = false;  // score the file's bytes as text
    tok->encode(text, &seq, eo);
    if (seq.size() < 2) throw UsageError("the text is too short to score");

    so.n_ctx = window;
    Session s(model, so);
    const int64_t V = model->hparams().vocab_size, n = static_cast<int64_t>(seq.size());
    std::vector<float> logits;
    double nll = 0;
    int64_t scored = 0, next_target = 1, begin = 0;
    ProgressBar bar;
    const auto t0 = std::chrono::steady_clock::now();
    while (next_target < n) {
      const int64_t end = std::min(begin + window + 1, n);  // inputs [begin, end-1), targets [begin+1, end)
      const int64_t T = end - 1 - begin;
      logits.resize(static_cast<size_t>(T * V));
      s.reset();
      s.eval(seq.data() + begin, T, logits.data(), /*all_positions=*/true);
      for (int64_t j = next_target - (begin + 1); j < T; ++j) {
        nll -= log_prob(logits.data() + j * V, V, seq[begin + 1 + j]);
        ++scored;
      }
      next_target = end;
      begin += step;
      bar.update(static_cast<double>(next_target) / n, std::to_string(scored) + " tokens scored");
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double ppl = std::exp(nll / scored);
    const double bpb = nll / std::log(2.0) / static_cast<double>(text.size());
    if (json) {
      std::printf("{\"model\": \"%s\", \"tokens\": %lld, \"ctx\": %lld, \"stride\": %lld, \"mean_nll\": %.6f, "
                  "\"ppl\": %.4f, \"bits_per_byte\": %.5f, \"seconds\": %.3f, \"tokens_per_second\": %.1f}\n",
                  model_path.c_str(), (long long)scored, (long long)window, (long long)step, nll / scored, ppl, bpb,
                  secs, scored / std::max(secs, 1e-9));
    } else {
      std::printf("perplexity: %.4f over %lld tokens (mean NLL %.5f nats, %.4f bits/byte)\n", ppl, (long long)scored,
                  nll / scored, bpb);
      std::printf("window %lld, stride %lld: %.2f s, %.1f tokens/s\n", (long long)window, (long long)step, secs,
                  scored / std::max(secs, 1e-9));
    }
    return 0;
  });
}

}  // namespace

HMOE_COMMAND("perplexity", "perplexity of a model on a text file (sliding window)", run_perplexity);

}  // namespace hmoe::cli
