// `hmoe run`: text in, text out. Encodes the prompt, streams the continuation to stdout
// as it is produced, and reports prompt and generation speed on stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "runtime/model/session.h"
#include "runtime/text/model_tokenizer.h"
#include "runtime/text/sampler.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/default_model.h"

namespace hmoe::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError("cannot read prompt file '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void print_stats(const Model& model, const Session& s) {
  const HyperCache* cache = model.hyper_cache();
  if (!cache) {
    std::fprintf(stderr, "hyper cache: none (plain MoE model)\n");
    return;
  }
  const HyperCacheStats st = cache->stats();
  const char* mode = st.baked ? "baked in the file" : st.precomputed ? "precomputed at load" : "on demand (LRU)";
  std::fprintf(stderr,
               "hyper cache: %s, %llu patterns/layer, %llu entries, %.1f MiB of %.1f MiB budget\n"
               "hyper cache: %llu hits, %llu misses, %llu evictions; %llu pattern groups applied\n",
               mode, (unsigned long long)st.patterns_per_layer, (unsigned long long)st.entries,
               st.bytes / 1048576.0, st.budget_bytes / 1048576.0, (unsigned long long)st.hits,
               (unsigned long long)st.misses, (unsigned long long)st.evictions,
               (unsigned long long)s.counters().hyper_groups);
}

int run_run(const std::vector<std::string>& argv) {
  return guarded("run", [&] {
    std::string model_path, prompt, prompt_file, ids_text, hyper = "table";
    int n_predict = 128, threads = 0, top_k = 40, ctx = 0;
    float temp = 0.8f, top_p = 0.95f, penalty = 1.1f;
    int64_t seed = -1, cache_mb = 256;
    bool stats = false, no_special = false;
    ArgParser p("run", "[-m FILE] (-p TEXT | -f FILE | --ids 1,2,3) [options]",
                "Generates a continuation of the prompt and streams it to stdout; speed goes to stderr.\n"
                "Without -m, runs the model that ships in models/ (or $HMOE_MODEL).");
    p.opt("-m,--model", &model_path, "model file (.hmoe)")
        .opt("-p,--prompt", &prompt, "prompt text")
        .opt("-f,--file", &prompt_file, "read the prompt from a file")
        .opt("--ids", &ids_text, "prompt as comma-separated token ids (prints ids back)")
        .opt("-n,--n-predict", &n_predict, "tokens to generate (default 128)")
        .opt("--temp", &temp, "temperature, 0 = greedy (default 0.8)")
        .opt("--top-k", &top_k, "keep the k most likely tokens, 0 = all (default 40)")
        .opt("--top-p", &top_p, "nucleus sampling threshold in (0, 1] (default 0.95)")
        .opt("--repeat-penalty", &penalty, "repetition penalty, 1 = off (default 1.1)")
        .opt("--seed", &seed, "random seed (default: random, printed to stderr)")
        .opt("-t,--threads", &threads, "threads (default: all cores)")
        .opt("-c,--ctx", &ctx, "context length (default: the model's)")
        .opt("--hyper", &hyper, "HyperExpert path: table (cached, default) or pertoken")
        .opt("--hyper-cache-mb", &cache_mb, "HyperExpert cache budget in MiB (default 256)")
        .flag("--stats", &stats, "print HyperExpert cache statistics to stderr")
        .flag("--no-special", &no_special, "treat <|endoftext|> in the prompt as plain text");
    if (!p.parse(argv)) return 0;
    const int sources = !prompt.empty() + !prompt_file.empty() + !ids_text.empty();
    if (sources == 0) throw UsageError("give a prompt with -p TEXT, -f FILE or --ids");
    if (sources > 1) throw UsageError("give only one of -p, -f and --ids");
    if (n_predict < 0) throw UsageError("-n must be >= 0, got " + std::to_string(n_predict));
    if (threads < 0 || threads > 4096) throw UsageError("--threads must be in [0, 4096], got " + std::to_string(threads));
    if (ctx < 0) throw UsageError("--ctx must be >= 0, got " + std::to_string(ctx));
    if (cache_mb < 0 || cache_mb > (int64_t(1) << 30)) throw UsageError("--hyper-cache-mb out of range");
    text::SamplerParams sp;
    sp.temperature = temp;
    sp.top_k = top_k;
    sp.top_p = top_p;
    sp.repetition_penalty = penalty;
    try {
      text::validate_sampler_params(sp);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
    SessionOptions so;
    so.n_threads = threads;
    so.n_ctx = ctx;
    if (hyper == "table") so.hyper_mode = HyperMode::Table;
    else if (hyper == "pertoken") so.hyper_mode = HyperMode::PerToken;
    else throw UsageError("--hyper must be table or pertoken, got '" + hyper + "'");
    if (seed < 0) seed = static_cast<int64_t>(std::random_device{}() >> 1);
    sp.seed = static_cast<uint64_t>(seed);

    if (model_path.empty()) model_path = find_default_model();
    ModelOptions mo;
    mo.hyper_cache_bytes = static_cast<uint64_t>(cache_mb) << 20;
    mo.n_threads = threads;
    const auto t_load = Clock::now();
    auto model = Model::load(model_path, mo);
    const double load_s = seconds_since(t_load);
    auto tok = text::load_model_tokenizer(model->file());

    std::vector<int32_t> ids;
    if (!ids_text.empty()) {
      ids = parse_int_list("--ids", ids_text);
    } else {
      if (!tok) throw UsageError("this model has no tokenizer; it accepts token ids only (use --ids)");
      if (!prompt_file.empty()) prompt = read_text_file(prompt_file);
      text::EncodeOptions eo;
      eo.special_tokens = !no_special;
      ids = tok->encode(prompt, eo);
    }
    if (ids.empty()) throw UsageError("the prompt is empty");
    Session s(model, so);
    if (static_cast<int64_t>(ids.size()) > s.n_ctx())
      throw UsageError("the prompt is " + std::to_string(ids.size()) + " tokens, longer than the context of " +
                       std::to_string(s.n_ctx()));
    const int64_t room = s.n_ctx() - static_cast<int64_t>(ids.size());
    if (n_predict > room) {
      std::fprintf(stderr, "note: generating %lld tokens, all the context leaves after the prompt\n", (long long)room);
      n_predict = static_cast<int>(room);
    }
    std::fprintf(stderr, "model: %s (load %.2f s), prompt %zu tokens, seed %lld\n", model_path.c_str(), load_s,
                 ids.size(), (long long)seed);

    const int64_t V = model->hparams().vocab_size;
    std::vector<float> logits(V);
    const auto t_prompt = Clock::now();
    s.eval(ids.data(), static_cast<int64_t>(ids.size()), logits.data());
    const double prompt_s = seconds_since(t_prompt);

    text::Sampler sampler(sp);
    std::vector<int32_t> history = ids;
    const int32_t eos = tok ? tok->eos_id() : -1;
    int generated = 0;
    const auto t_gen = Clock::now();
    for (int i = 0; i < n_predict; ++i) {
      const int32_t next = sampler.sample(logits.data(), logits.size(), history.data(), history.size());
      history.push_back(next);
      ++generated;
      if (next == eos) break;
      if (!ids_text.empty() || !tok) {
        std::printf("%s%d", i ? "," : "", next);
      } else {
        const std::string& bytes = tok->token_bytes(next);
        std::fwrite(bytes.data(), 1, bytes.size(), stdout);
      }
      std::fflush(stdout);
      if (i + 1 < n_predict) s.eval(&next, 1, logits.data());
    }
    const double gen_s = seconds_since(t_gen);
    std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr, "prompt: %zu tokens in %.3f s (%.1f tokens/s)\n", ids.size(), prompt_s,
                 ids.size() / std::max(prompt_s, 1e-9));
    std::fprintf(stderr, "generation: %d tokens in %.3f s (%.1f tokens/s)\n", generated, gen_s,
                 generated / std::max(gen_s, 1e-9));
    if (stats) print_stats(*model, s);
    return 0;
  });
}

}  // namespace

HMOE_COMMAND("run", "generate text from a prompt (streams to stdout)", run_run);

}  // namespace hmoe::cli
