// `hmoe run`: text in, text out, on the public C++ API and its one generation loop.
// Encodes the prompt, streams the continuation to stdout as it is produced, and reports
// prompt and generation speed on stderr. With -i, an interactive session: each line of
// standard input is appended to the context and continued. Ctrl-C stops generation
// and still prints the statistics (exit 130; in -i, it ends the turn).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "runtime/api/hypermoe.hpp"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/inputs.h"
#include "tools/cli/interrupt.h"
#include "tools/cli/model_flags.h"
#include "tools/cli/output.h"

namespace hmoe::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const char* stop_text(hmoe_stop_reason r) {
  switch (r) {
    case HMOE_STOP_MAX_TOKENS: return "-n tokens";
    case HMOE_STOP_EOS: return "end of text";
    case HMOE_STOP_CALLBACK: return "output failed";
    case HMOE_STOP_CONTEXT_FULL: return "context full";
    case HMOE_STOP_STRING: return "stop string";
    case HMOE_STOP_CANCELLED: return "interrupted";
  }
  return "?";
}

// Time and tokens over the turns of a run.
struct Totals {
  size_t prompt_tokens = 0, generated = 0;
  double prompt_s = 0, generation_s = 0;
};

// One call of the API's generation loop, printing each token as it comes (its bytes, or
// with `ids` its id) and timing the prompt (until the first token) and the generation.
hypermoe::Generation generate(hypermoe::Session& s, const std::vector<int32_t>& prompt,
                              hypermoe::GenerateOptions opt, bool ids, Totals* totals,
                              bool strip_leading_space = false) {
  const Clock::time_point t0 = Clock::now();
  Clock::time_point first = t0;
  size_t n = 0;
  opt.on_token = [&](int32_t token, std::string_view piece) {
    if (n++ == 0) {
      first = Clock::now();
      // SentencePiece marks a word start with a space; its decoder drops the answer's first.
      if (strip_leading_space && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    }
    if (!ids) return write_stdout(piece.data(), piece.size());
    const std::string text = (n > 1 ? "," : "") + std::to_string(token);
    return write_stdout(text.data(), text.size());  // false: output lost, stop (guarded reports it)
  };
  const hypermoe::Generation g = s.generate(prompt, opt);
  const Clock::time_point end = Clock::now();
  if (n == 0) first = end;
  totals->prompt_tokens += prompt.size();
  totals->prompt_s += seconds(first - t0);
  totals->generated += g.tokens.size();
  totals->generation_s += seconds(end - first);
  return g;
}

void print_speed(const Totals& t, const char* stopped) {
  std::fprintf(stderr, "prompt: %zu tokens in %.3f s (%.1f tokens/s)\n", t.prompt_tokens, t.prompt_s,
               t.prompt_tokens / std::max(t.prompt_s, 1e-9));
  std::fprintf(stderr, "generation: %zu tokens in %.3f s (%.1f tokens/s)%s%s\n", t.generated, t.generation_s,
               t.generated / std::max(t.generation_s, 1e-9), stopped ? ", stopped: " : "", stopped ? stopped : "");
}

void print_stats(const hypermoe::Model& model) {
  const hypermoe::ModelLoadStats load = model.load_stats();
  std::fprintf(stderr, "load: %.2f s, of which filling the HyperExpert cache %.2f s\n", load.load_seconds,
               load.hyper_fill_seconds);
  const hypermoe::HyperCacheStats st = model.hyper_cache_stats();
  if (st.mode == HMOE_HYPER_CACHE_NONE) {
    std::fprintf(stderr, "hyper cache: none (plain MoE model)\n");
    return;
  }
  const char* mode = st.mode == HMOE_HYPER_CACHE_BAKED         ? "baked in the file"
                     : st.mode == HMOE_HYPER_CACHE_PRECOMPUTED ? "precomputed at load"
                                                               : "on demand (LRU)";
  std::fprintf(stderr,
               "hyper cache: %s, %llu patterns/layer, %llu entries, %.1f MiB of %.1f MiB budget\n"
               "hyper cache: %llu hits, %llu misses, %llu evictions\n",
               mode, (unsigned long long)st.patterns_per_layer, (unsigned long long)st.entries,
               st.bytes / 1048576.0, st.budget_bytes / 1048576.0, (unsigned long long)st.hits,
               (unsigned long long)st.misses, (unsigned long long)st.evictions);
}

const char* kDescription =
    "Generates a continuation of the prompt and streams it to stdout; speed goes to stderr.\n"
    "Without -m, runs the model that ships in models/ (or $HMOE_MODEL). -f - reads the prompt\n"
    "from standard input; prompts are limited to 64 MiB.\n"
    "-i (interactive): after the prompt, if any, reads standard input line by line; each line\n"
    "is added to the context as typed (with its newline) and continued with up to -n tokens.\n"
    "The context is kept from line to line; --context-shift keeps going once it is full.\n"
    "Ctrl-C stops generation and prints the statistics (exit 130); in -i it ends the turn, and\n"
    "at the input prompt ends the session. Sampling defaults are the library's (hypermoe.h).\n"
    "Encoder-decoder models (Switch, T5) answer the prompt as text to text: it is the\n"
    "encoder's input (\"testament: And Jesus wept.\"), the answer is decoded from the model's\n"
    "start token, greedily unless --temp is given.";

int run_run(const std::vector<std::string>& argv) {
  return guarded("run", [&] {
    const hmoe_sampling_params def = hmoe_sampling_default_params();
    ModelFlags mf;
    std::string prompt, prompt_file, ids_text;
    std::vector<std::string> stops;
    int n_predict = 128, top_k = def.top_k, ctx = 0, keep = 0, last_n = def.penalty_last_n;
    float temp = def.temperature, top_p = def.top_p, penalty = def.repetition_penalty;
    int64_t seed = -1;
    bool stats = false, no_special = false, ignore_eos = false, shift = false, interactive = false;
    ArgParser p("run", "[-m FILE] (-p TEXT | -f FILE | --ids 1,2,3) [options]  |  hmoe run -i [-p TEXT] [options]",
                kDescription);
    mf.declare(p);
    p.opt("-p,--prompt", &prompt, "prompt text")
        .path("-f,--file", &prompt_file, "read the prompt from a file; - reads standard input")
        .opt("--ids", &ids_text, "prompt as comma-separated token ids (prints ids back)")
        .flag("-i,--interactive", &interactive, "interactive session: continue each line of standard input")
        .opt("-n,--n-predict", &n_predict, "tokens to generate (per line with -i; default 128)")
        .opt("--temp", &temp, "temperature, 0 = greedy (default " + number(def.temperature) + ")")
        .opt("--top-k", &top_k, "keep the k most likely tokens, 0 = all (default " + std::to_string(def.top_k) + ")")
        .opt("--top-p", &top_p, "nucleus sampling threshold in (0, 1] (default " + number(def.top_p) + ")")
        .opt("--repeat-penalty", &penalty, "repetition penalty, 1 = off (default " + number(def.repetition_penalty) + ")")
        .opt("--repeat-last-n", &last_n,
             "tokens the penalty looks back, -1 = all (default " + std::to_string(def.penalty_last_n) + ")")
        .opt("--seed", &seed, "random seed >= 0; -1 (default) draws one and prints it to stderr")
        .multi("--stop", &stops, "stop once the generated text contains this string (repeatable)")
        .flag("--ignore-eos", &ignore_eos, "never sample end-of-text: generate all -n tokens")
        .opt("-c,--ctx", &ctx, "context length (default: the model's)")
        .flag("--context-shift", &shift,
              "when the context is full, drop the oldest half (after --keep tokens) and go on")
        .opt("--keep", &keep, "tokens at the start of the context a shift never drops (default 0)")
        .flag("--stats", &stats, "print load time and HyperExpert cache statistics to stderr")
        .flag("--no-special", &no_special, "treat <|endoftext|> in the prompt as plain text");
    if (!p.parse(argv)) return kExitOk;
    const int sources = p.seen("-p") + p.seen("-f") + p.seen("--ids");
    if (sources == 0 && !interactive) throw UsageError("give a prompt with -p TEXT, -f FILE or --ids");
    if (sources > 1) throw UsageError("give only one of -p, -f and --ids");
    if (p.seen("-p") && prompt.empty()) throw UsageError("the prompt is empty");
    if (interactive && !ids_text.empty()) throw UsageError("-i reads text: start it with -p or -f, not --ids");
    if (n_predict < 0) throw UsageError("-n must be >= 0, got " + std::to_string(n_predict));
    if (ctx < 0) throw UsageError("--ctx must be >= 0, got " + std::to_string(ctx));
    if (keep < 0) throw UsageError("--keep must be >= 0, got " + std::to_string(keep));
    if (seed < -1) throw UsageError("--seed must be >= 0, or -1 for a random seed, got " + std::to_string(seed));
    for (const std::string& s : stops)
      if (s.empty()) throw UsageError("--stop needs a non-empty string");
    mf.check();
    hypermoe::SessionParams sp = mf.session_params(ctx);
    sp.sampling.temperature = temp;
    sp.sampling.top_k = top_k;
    sp.sampling.top_p = top_p;
    sp.sampling.repetition_penalty = penalty;
    sp.sampling.penalty_last_n = last_n;
    if (seed < 0) seed = static_cast<int64_t>(std::random_device{}() >> 1);
    sp.sampling.seed = static_cast<uint64_t>(seed);
    if (hmoe_sampling_params_check(&sp.sampling) != HMOE_OK)  // the flags alone are wrong
      throw UsageError(hypermoe::Error(HMOE_ERR_INVALID_ARGUMENT, hmoe_last_error()).reason());

    std::vector<int32_t> ids;
    if (!ids_text.empty()) ids = parse_int_list("--ids", ids_text);
    if (!prompt_file.empty()) prompt = read_input(prompt_file);  // before the (long) load
    if (p.seen("-f") && prompt.empty()) throw UsageError("the prompt is empty");

    const hypermoe::Model model = mf.load();
    if (model.info().encoder_decoder && interactive)
      throw UsageError("-i continues a text: an encoder-decoder answers one input per run");
    if (model.info().encoder_decoder && shift)
      throw UsageError("--context-shift continues a text: an encoder-decoder answers one input");
    const uint32_t text_flags = no_special ? 0 : HMOE_TOKENIZE_SPECIAL;
    if (!prompt.empty()) ids = model.tokenize(prompt, text_flags);  // no tokenizer, invalid UTF-8: exit 1
    if (model.info().encoder_decoder && !p.seen("--temp")) sp.sampling.temperature = 0;
    hypermoe::Session session(model, sp);
    const int64_t n_ctx = session.info().n_ctx;
    std::fprintf(stderr, "model: %s (load %.2f s), prompt %zu tokens, seed %lld\n", mf.model_path().c_str(),
                 model.load_stats().load_seconds, ids.size(), (long long)seed);

    hypermoe::GenerateOptions opt;
    opt.max_tokens = n_predict;
    opt.ignore_eos = ignore_eos;
    opt.stop_strings = stops;
    opt.context_shift = shift;
    opt.n_keep = keep;
    const bool print_ids = !ids_text.empty() || !model.info().has_tokenizer;
    Totals totals;

    if (model.info().encoder_decoder) {
      // Text to text (T5, Switch): the prompt is the encoder's input, the answer is decoded
      // from the model's start token; greedy unless --temp was given, as T5 users expect.
      if (ids.empty()) throw UsageError("the encoder's input is empty");
      const Clock::time_point t0 = Clock::now();
      session.encode(ids);
      const InterruptScope interrupt(/*once=*/true);
      opt.cancel = interrupt.flag();
      const hypermoe::Generation g = generate(session, {}, opt, print_ids, &totals, /*strip_leading_space=*/true);
      totals.prompt_tokens = ids.size();  // the encoder's input and the decoder's first step
      totals.prompt_s = seconds(Clock::now() - t0) - totals.generation_s;  // encode + first step
      write_stdout("\n", 1);
      print_speed(totals, stop_text(g.stop_reason));
      if (stats) print_stats(model);
      return g.stop_reason == HMOE_STOP_CANCELLED ? kExitInterrupted : kExitOk;
    }

    if (!interactive) {
      const int64_t room = n_ctx - static_cast<int64_t>(ids.size());
      if (!shift && room >= 0 && n_predict > room) {
        std::fprintf(stderr, "note: generating %lld tokens, all the context leaves after the prompt\n",
                     (long long)room);
        opt.max_tokens = static_cast<int32_t>(room);
      }
      const InterruptScope interrupt(/*once=*/true);
      opt.cancel = interrupt.flag();
      const hypermoe::Generation g = generate(session, ids, opt, print_ids, &totals);
      write_stdout("\n", 1);
      print_speed(totals, stop_text(g.stop_reason));
      if (stats) print_stats(model);
      return g.stop_reason == HMOE_STOP_CANCELLED ? kExitInterrupted : kExitOk;
    }

    // Interactive: the prompt first (if any), then one turn per line of standard input.
    InterruptScope interrupt(/*once=*/false);
    opt.cancel = interrupt.flag();
    LineReader lines;
    const bool tty = isatty(STDIN_FILENO) != 0;
    int code = kExitOk;
    for (bool first = true;; first = false) {
      std::vector<int32_t> turn;
      if (first && !ids.empty()) {
        turn = ids;
      } else {
        if (tty) {
          std::fputs("> ", stderr);
          std::fflush(stderr);
        }
        std::string line;
        const LineReader::Result r = lines.next(&line);
        if (r == LineReader::Result::End) break;
        if (r == LineReader::Result::Interrupted) {
          code = kExitInterrupted;
          break;
        }
        turn = model.tokenize(line, text_flags);
        if (turn.empty()) continue;
      }
      const hypermoe::Generation g = generate(session, turn, opt, print_ids, &totals);
      if (!write_stdout("\n", 1)) break;
      if (g.stop_reason == HMOE_STOP_CALLBACK) break;  // stdout failed: guarded says why
      if (g.stop_reason == HMOE_STOP_CANCELLED) interrupt.clear();
      if (g.stop_reason == HMOE_STOP_CONTEXT_FULL)
        std::fprintf(stderr, "note: the context of %lld tokens is full; --context-shift would keep going\n",
                     (long long)n_ctx);
    }
    print_speed(totals, nullptr);
    if (stats) print_stats(model);
    return code;
  });
}

}  // namespace

HMOE_COMMAND("run", "generate text from a prompt (streams to stdout), or chat with -i", run_run);

}  // namespace hmoe::cli
