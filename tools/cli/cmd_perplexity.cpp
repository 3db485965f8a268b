// `hmoe perplexity`: perplexity of a model on a text file, with a sliding window as the
// training tools score held-out text (tools/train/eval_ppl.py): the text is preceded by
// end-of-text, each window holds --ctx tokens and scores only the tokens no earlier
// window scored, so every token after the first window sees at least ctx - stride
// tokens of context. Runs on the public API.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "runtime/api/hypermoe.hpp"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/inputs.h"
#include "tools/cli/json.h"
#include "tools/cli/model_flags.h"
#include "tools/cli/progress.h"
#include "tools/cli/output.h"

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
    ModelFlags mf;
    std::string text_path;
    int ctx = 0, stride = 0;
    bool json = false;
    ArgParser p("perplexity", "[-m FILE] -f TEXT [--ctx N] [--stride S] [-t THREADS] [--json]",
                "Perplexity per token of a text file (preceded by end-of-text), scored with a sliding\n"
                "window of --ctx tokens moved by --stride; prints perplexity, bits per byte and speed.\n"
                "-f - reads standard input; texts are limited to 64 MiB.");
    mf.declare(p);
    p.path("-f,--file", &text_path, "text file to score; - reads standard input")
        .opt("--ctx", &ctx, "window length in tokens (default: the model's context)")
        .opt("--stride", &stride, "tokens the window moves by (default: ctx / 2)")
        .flag("--json", &json, "print one JSON line instead of text");
    if (!p.parse(argv)) return kExitOk;
    if (text_path.empty()) throw UsageError("missing -f TEXT");
    if (ctx < 0) throw UsageError("--ctx must be >= 0, got " + std::to_string(ctx));
    if (stride < 0) throw UsageError("--stride must be >= 0, got " + std::to_string(stride));
    if (ctx > 0 && stride > ctx) throw UsageError("--stride must be at most --ctx");
    mf.check();

    const std::string text = read_input(text_path);
    if (text.empty()) throw UsageError("the text is empty");
    const hypermoe::Model model = mf.load();
    const hypermoe::ModelInfo info = model.info();
    std::vector<int32_t> seq;
    if (info.eos_id >= 0) seq.push_back(info.eos_id);
    const std::vector<int32_t> ids = model.tokenize(text, 0);  // the file's bytes as text: no special tokens
    seq.insert(seq.end(), ids.begin(), ids.end());
    if (seq.size() < 2) throw UsageError("the text is too short to score");

    hypermoe::Session s(model, mf.session_params(ctx));  // refuses a --ctx past the model's (exit 1)
    const int64_t window = s.info().n_ctx;
    const int64_t step = stride ? stride : std::max<int64_t>(1, window / 2);
    if (step > window) throw UsageError("--stride must be at most the window of " + std::to_string(window));
    const int64_t V = info.n_vocab, n = static_cast<int64_t>(seq.size());
    double nll = 0;
    int64_t scored = 0, next_target = 1, begin = 0;
    ProgressBar bar;
    const auto t0 = std::chrono::steady_clock::now();
    while (next_target < n) {
      const int64_t end = std::min(begin + window + 1, n);  // inputs [begin, end-1), targets [begin+1, end)
      const int64_t T = end - 1 - begin;
      s.reset();
      const std::vector<float> logits =
          s.eval_all_logits(hypermoe::Span<const int32_t>(seq.data() + begin, static_cast<size_t>(T)));
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
    // The API refuses non-finite logits (a bad model file); this keeps a NaN from ever
    // being printed as a result whatever the logits were.
    if (!std::isfinite(nll) || !std::isfinite(ppl))
      throw hypermoe::Error(HMOE_ERR_BAD_FILE, "the model's log-likelihood of the text is not finite (" +
                                                   std::to_string(nll) + "): its weights are unusable");
    if (json) {
      out("{\"model\": %s, \"tokens\": %lld, \"ctx\": %lld, \"stride\": %lld, \"mean_nll\": %.6f, "
                  "\"ppl\": %.4f, \"bits_per_byte\": %.5f, \"seconds\": %.3f, \"tokens_per_second\": %.1f}\n",
                  json_quote(mf.model_path()).c_str(), (long long)scored, (long long)window, (long long)step,
                  nll / scored, ppl, bpb, secs, scored / std::max(secs, 1e-9));
    } else {
      out("perplexity: %.4f over %lld tokens (mean NLL %.5f nats, %.4f bits/byte)\n", ppl, (long long)scored,
                  nll / scored, bpb);
      out("window %lld, stride %lld: %.2f s, %.1f tokens/s\n", (long long)window, (long long)step, secs,
                  scored / std::max(secs, 1e-9));
    }
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("perplexity", "perplexity of a model on a text file (sliding window)", run_perplexity);

}  // namespace hmoe::cli
