// `hmoe bench`: prompt-processing and generation speed of a model (a file, or random
// weights of chosen dims), in the spirit of llama-bench, comparing in one run plain MoE
// (the same model without its HyperExpert), HyperMoE with the HyperExpert cache, and
// HyperMoE running its hypernetwork for every token as the authors' code does.
// The baseline (HyperMode::Off), session counters and synthetic models are internals,
// not API: see tools/cli/internal.h.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>


#include "runtime/kernels/simd_target.h"
#include "runtime/kernels/threads.h"
#include "tools/common/stream_read.h"
#include "tools/common/thread_round_trip.h"
#include "tools/common/decode_traffic.h"
#include "runtime/model/session.h"
#include "tools/common/run_order.h"
#include "tools/common/synthetic_model.h"
#include "tools/cli/args.h"
#include "tools/common/cpu_usage.h"
#include "tools/cli/bench_report.h"
#include "tools/cli/command.h"
#include "tools/cli/internal.h"
#include "tools/cli/output.h"

namespace hmoe::cli {
namespace {

struct BenchConfig {
  std::string name;
  HyperMode mode;
};

const std::vector<BenchConfig>& all_configs() {
  static const std::vector<BenchConfig> c = {
      {"moe", HyperMode::Off}, {"cached", HyperMode::Table}, {"pertoken", HyperMode::PerToken}};
  return c;
}

std::vector<BenchConfig> parse_configs(const std::string& text) {
  std::vector<BenchConfig> out;
  for (const std::string& name : split_commas(text)) {
    bool found = false;
    for (const BenchConfig& c : all_configs())
      if (c.name == name) out.push_back(c), found = true;
    if (!found) throw UsageError("--configs: unknown configuration '" + name + "' (known: moe, cached, pertoken)");
  }
  return out;
}

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  for (int32_t& id : t) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 29;
    id = static_cast<int32_t>(x % static_cast<uint64_t>(vocab));
  }
  return t;
}

// One timed eval: the prompt as one batch (pp), or one token of a generation (tg), with
// the last token's logits. An encoder-decoder's prompt is its encoder input: pp times
// encoding it, and tg decodes after an input of kTgEncoded tokens was encoded untimed.
struct RunTime {
  double wall = 0, cpu = 0;  // seconds; cpu: the calling thread's
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

constexpr int64_t kTgEncoded = 64;

// printf into a string (warnings and header lines of any length).
__attribute__((format(printf, 1, 2))) std::string printf_string(const char* f, ...) {
  va_list a, b;
  va_start(a, f);
  va_copy(b, a);
  const int n = std::vsnprintf(nullptr, 0, f, a);
  va_end(a);
  std::string s(static_cast<size_t>(std::max(n, 0)), '\0');
  std::vsnprintf(s.data(), s.size() + 1, f, b);
  va_end(b);
  return s;
}

// Probes before and after a repetition further apart than this (the larger over the
// smaller, minus 1) make its fraction of the read bandwidth suspect: a quiet machine's
// probes agree within a few percent.
constexpr double kBandwidthMoved = 0.15;

RunTime time_eval(Session& s, const int32_t* ids, int64_t n, std::vector<float>* logits, bool encode) {
  const double c0 = thread_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  if (encode) s.encode(ids, n);
  else s.eval(ids, n, logits->data());
  RunTime r;
  r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu = thread_cpu_seconds() - c0;
  return r;
}

uint64_t mem_available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// One model under test (a file, or synthetic weights of one dtype) and its label in the
// table's "weights" column.
struct BenchModel {
  std::string label;
  std::shared_ptr<const Model> model;
};

// What one row measures: a model in a configuration, with its own session per test.
struct Variant {
  size_t model;  // index into the BenchModels
  BenchConfig config;
};

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

int run_bench(const std::vector<std::string>& argv) {
  return guarded_internal("bench", [&] {
    std::string model_paths, synthetic, dtype_text, prompts = "128", gens = "64", threads_text, output = "md";
    std::string configs_text = "moe,cached,pertoken", synthetic_dir;
    int reps = 6, warmup = 1;
    int64_t cache_mb = 256, seed = 1, bw_mib = 512;
    double busy_warn = 10.0;
    bool no_precompute = false;
    ArgParser p("bench", "(-m FILE[,FILE...] | --synthetic SPEC [--dtype T[,T...]]) [-p 128] [-n 64] [-r 6] [-t 1,2] [-o md|csv|json]",
                "Measures prompt processing (pp: the prompt as one batch) and generation (tg: one token at a\n"
                "time from an empty context) in tokens per second, repeated, for each thread count, model\n"
                "and configuration (tg: they take turns token by token). Encoder-decoder models (Switch):\n"
                "pp encodes an input of that length; tg decodes after a 64-token input was encoded.\n"
                "  moe       the same model without its HyperExpert: plain MoE, the baseline\n"
                "  cached    HyperMoE with the HyperExpert cache (what `hmoe run` does)\n"
                "  pertoken  HyperMoE running the hypernetwork for every token (the authors' way)\n"
                "Several models (-m A,B or --dtype f32,q8,q4) are measured in the same run, taking turns\n"
                "the same way. The baseline is the first model's 'moe' (else its first configuration).\n"
                "Runs alternate within each repetition, each repetition in the next row of a balanced\n"
                "order (a run disturbs the next one; over 2n repetitions of n variants, n if n is even,\n"
                "each takes each place and follows each other equally often, so -r should be a multiple\n"
                "of that); 'time vs' the baseline is the median over\n"
                "repetitions of each one's time over the baseline's in the same repetition; 'CPU time\n"
                "vs' (1 thread) is the same for the thread's CPU time, which a busy machine disturbs less.\n"
                "tg rows also give the weights' bytes one token reads over the time per token (weights\n"
                "GB/s) and its fraction of a streaming read bandwidth measured in the same run, with the\n"
                "same threads, before, between and after the test's repetitions: each repetition's\n"
                "weights GB/s over the better of the probes right before and after it, the median over\n"
                "repetitions (a warning when a repetition's two probes differ by more than 15%).\n"
                "'with KV' counts the keys and values the token's attention reads beside its weights.\n"
                "Two-thread tg tests also time a cache line's round trip between two of the threads beside\n"
                "each probe (header line; JSON round_trip_ns): where cores sit far apart it is several times\n"
                "longer, and every product shared between the threads pays it.\n"
                "SPEC: key=value,... with keys d L N k b H V P heads e pd hin le hyper seed dtype std hyper_std\n"
                "(default GPT-2-small: d=768,L=12,N=8,k=2,b=64,H=128,V=50257,P=1024,e=pd=hin=128,le=10).\n"
                "Synthetic HyperExperts are zero unless SPEC sets hyper_std (e.g. 0.02): a HyperExpert\n"
                "changes the routing, and prefill's cost depends on the routing, so zeros keep the\n"
                "configurations' work identical but for the HyperExpert itself.");
    p.path("-m,--model", &model_paths, "model files (.hmoe), comma-separated")
        .opt("--synthetic", &synthetic, "random weights of these dims instead of a file (see SPEC)")
        .opt("--dtype", &dtype_text, "synthetic weights' dtypes, comma-separated: f32 f16 bf16 q8 q4 (default f32)")
        .opt("-p,--n-prompt", &prompts, "prompt lengths, comma-separated; 0 skips pp (default 128)")
        .opt("-n,--n-gen", &gens, "generated tokens, comma-separated; 0 skips tg (default 64)")
        .opt("-r,--repetitions", &reps, "timed runs per test (default 6: the balanced order of 3 configurations once)")
        .opt("--warmup", &warmup, "untimed runs per test and configuration first (default 1)")
        .opt("-t,--threads", &threads_text,
             "thread counts, comma-separated; 0 = the default: OMP_NUM_THREADS or the processors,\n"
             "at most the processors (default 0)")
        .opt("-o,--output", &output, "md (default), csv or json")
        .opt("--configs", &configs_text, "which of moe,cached,pertoken to run (default all)")
        .opt("--hyper-cache-mb", &cache_mb, "HyperExpert cache budget in MiB (default 256)")
        .flag("--no-precompute", &no_precompute, "fill the cache on demand even when every pattern fits")
        .opt("--seed", &seed, "seed of the prompt tokens (default 1)")
        .opt("--bw-mib", &bw_mib, "buffer of the read-bandwidth measurement in MiB; 0 skips it (default 512)")
        .opt("--busy-warn", &busy_warn, "warn when other processes use more than this % of the CPUs (default 10)")
        .opt("--synthetic-dir", &synthetic_dir, "where the synthetic model's file lives while loading "
                                                "(default /dev/shm, else the temp dir)");
    if (!p.parse(argv)) return kExitOk;
    if (model_paths.empty() == synthetic.empty()) throw UsageError("give exactly one of -m FILE or --synthetic SPEC");
    if (!dtype_text.empty() && synthetic.empty()) throw UsageError("--dtype applies to --synthetic models only");
    if (reps < 1 || reps > 10000) throw UsageError("--repetitions must be in [1, 10000], got " + std::to_string(reps));
    if (warmup < 0 || warmup > 100) throw UsageError("--warmup must be in [0, 100], got " + std::to_string(warmup));
    if (output != "md" && output != "csv" && output != "json")
      throw UsageError("--output must be md, csv or json, got '" + output + "'");
    if (cache_mb < 0 || cache_mb > (int64_t(1) << 30)) throw UsageError("--hyper-cache-mb out of range");
    if (bw_mib < 0 || bw_mib > (int64_t(1) << 20)) throw UsageError("--bw-mib must be in [0, 1048576], got " + std::to_string(bw_mib));
    const std::vector<int32_t> pp = parse_int_list("--n-prompt", prompts), tg = parse_int_list("--n-gen", gens);
    std::vector<int32_t> threads = parse_int_list("--threads", threads_text.empty() ? "0" : threads_text);
    for (int32_t& t : threads) {
      if (t < 0 || t > kernels::kMaxThreads)
        throw UsageError("--threads must be in [0, " + std::to_string(kernels::kMaxThreads) +
                         "] (0: the default), got " + std::to_string(t));
      t = kernels::resolve_threads(t, "--threads");
    }
    for (int32_t v : pp)
      if (v < 0) throw UsageError("--n-prompt values must be >= 0, got " + std::to_string(v));
    for (int32_t v : tg)
      if (v < 0) throw UsageError("--n-gen values must be >= 0, got " + std::to_string(v));
    std::vector<BenchConfig> configs = parse_configs(configs_text);

    ModelOptions mo;
    mo.hyper_cache_bytes = static_cast<uint64_t>(cache_mb) << 20;
    mo.hyper_precompute = !no_precompute;
    mo.n_threads = *std::max_element(threads.begin(), threads.end());
    BenchReport report;
    std::vector<BenchModel> models;
    const auto t_load = std::chrono::steady_clock::now();
    if (!synthetic.empty()) {
      std::vector<SyntheticSpec> specs;
      try {
        // Zero HyperExperts by default: the HyperExpert moves the hidden states and so the
        // routing, and prefill's cost depends on how tokens spread over the experts; with
        // zeros every configuration routes every token alike and does the same arithmetic.
        const SyntheticSpec spec = parse_synthetic_spec("hyper_std=0," + (synthetic == "gpt2" ? std::string() : synthetic));
        if (dtype_text.empty()) specs.push_back(spec);
        for (const std::string& name : dtype_text.empty() ? std::vector<std::string>{} : split_commas(dtype_text)) {
          SyntheticSpec s = spec;
          if (!dtype_from_name(name, &s.dtype) || s.dtype == DType::I32)
            throw UsageError("--dtype values must be f32, f16, bf16, q8 or q4, got '" + name + "'");
          specs.push_back(parse_synthetic_spec(s.to_string()));  // re-checks the dims for the dtype
        }
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
      for (int32_t v : pp)
        if (v > specs[0].P) throw UsageError("-p " + std::to_string(v) + " exceeds the synthetic model's P=" + std::to_string(specs[0].P));
      for (int32_t v : tg)
        if (v > specs[0].P) throw UsageError("-n " + std::to_string(v) + " exceeds the synthetic model's P=" + std::to_string(specs[0].P));
      uint64_t need = 0;
      for (const SyntheticSpec& s : specs) need += s.file_bytes();
      const uint64_t avail = mem_available_bytes();
      if (avail && need > avail / 10 * 8)
        throw std::runtime_error("the synthetic model" + std::string(specs.size() > 1 ? "s need " : " needs ") + gib(need) +
                                 " of memory, but only " + gib(avail) + " is available");
      for (const SyntheticSpec& s : specs) {
        std::fprintf(stderr, "bench: building synthetic model %s (%s)\n", s.to_string().c_str(), gib(s.file_bytes()).c_str());
        models.push_back({dtype_name(s.dtype), make_synthetic_model(s, mo, synthetic_dir)});
        report.header.push_back("model " + models.back().label + ": synthetic " + s.to_string() + ", " +
                                gib(s.file_bytes()));
      }
    } else {
      const std::vector<std::string> paths = split_commas(model_paths);
      for (const std::string& path : paths)
        if (path.empty()) throw UsageError("-m: an empty file name in '" + model_paths + "'");
      for (const std::string& path : paths) {
        models.push_back({base_name(path), Model::load(path, mo)});
        report.header.push_back("model " + models.back().label + ": " + path + ", " +
                                gib(models.back().model->file().file_size()));
      }
    }
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    const HParams& hp = models[0].model->hparams();
    for (size_t m = 1; m < models.size(); ++m) {
      const HParams& o = models[m].model->hparams();
      if (o.n_embd != hp.n_embd || o.n_layer != hp.n_layer || o.n_experts != hp.n_experts || o.top_k != hp.top_k ||
          o.vocab_size != hp.vocab_size || o.n_positions != hp.n_positions)
        throw UsageError("-m: " + models[m].label + " has other dims than " + models[0].label +
                         " (compare one architecture's files: its f32, quantized and baked versions)");
    }
    char dims[256];
    std::snprintf(dims, sizeof dims, "dims: d=%lld L=%lld N=%lld k=%lld b=%lld H=%lld V=%lld; SIMD %s; loaded in %.2f s",
                  (long long)hp.n_embd, (long long)hp.n_layer, (long long)hp.n_experts, (long long)hp.top_k,
                  (long long)hp.adapter_dim, (long long)hp.hypernetwork_bottleneck, (long long)hp.vocab_size,
                  kernels::simd_active_target().c_str(), load_s);
    report.header.push_back(dims);
    for (const BenchModel& bm : models) {
      std::string line = "weights " + bm.label + ": experts " + dtype_name(bm.model->weights().experts_dtype());
      if (const HyperCache* cache = bm.model->hyper_cache()) line += "; " + cache->stats().to_string();
      report.header.push_back(line);
    }

    // Configurations that cannot differ from plain MoE, or cannot run, are left out.
    std::vector<Variant> runnable;
    for (size_t m = 0; m < models.size(); ++m) {
      const Model& model = *models[m].model;
      for (const BenchConfig& c : configs) {
        if (c.mode != HyperMode::Off && !model.hparams().use_hypernet) {
          report.warnings.push_back(models[m].label + " is plain MoE: '" + c.name + "' is the same as 'moe' and was skipped");
          continue;
        }
        if (c.mode == HyperMode::PerToken && !model.has_hypernetwork()) {
          report.warnings.push_back(models[m].label + " is baked: 'pertoken' needs the hypernetwork and was skipped");
          continue;
        }
        runnable.push_back({m, c});
      }
    }
    if (runnable.empty()) throw UsageError("no configuration left to run");
    size_t base = 0;
    for (size_t i = runnable.size(); i-- > 0;)
      if (runnable[i].model == runnable[0].model && runnable[i].config.mode == HyperMode::Off) base = i;
    report.baseline = (models.size() > 1 ? models[runnable[base].model].label + " " : std::string()) +
                      runnable[base].config.name;

    struct Test {
      bool prompt;
      int n;
    };
    std::vector<Test> tests;
    for (int32_t v : pp)
      if (v > 0) tests.push_back({true, v});
    for (int32_t v : tg)
      if (v > 0) tests.push_back({false, v});
    if (tests.empty()) throw UsageError("nothing to run: every -p and -n is 0");
    int64_t n_ctx = 0;
    for (const Test& t : tests) n_ctx = std::max<int64_t>(n_ctx, t.n);
    if (n_ctx > hp.n_positions)
      throw UsageError("a test of " + std::to_string(n_ctx) + " tokens exceeds the model's " +
                       std::to_string(hp.n_positions) + " positions");

    // The read bandwidth decode is compared against: measured in this run, with the same
    // thread count, right before and right after each tg test's rows and between its
    // repetitions, since on a shared machine it moves with the neighbours' traffic (on a
    // 2-vCPU VM the two-thread figure moved between 35 and 60 GB/s within minutes, and
    // between about 50 and 80 from one second to the next).
    std::string bw_line;
    // STREAM's way: the best of several passes over a buffer far larger than the caches,
    // every thread reading at once; front to back and 8 places per thread (kernels read
    // 8 to 16 rows at once), the better of the two. Between repetitions, fewer passes.
    // One buffer for every probe of the run, made at the first (probing between
    // repetitions would otherwise allocate and write it again each time).
    std::unique_ptr<kernels::ReadProbe> prober;
    auto probe = [&](int32_t nt, int passes) {
      if (!prober) prober = std::make_unique<kernels::ReadProbe>(bw_mib);
      return prober->measure(nt, passes);
    };
    constexpr int kProbePasses = 10, kProbePassesBetween = 3;
    auto describe = [](const kernels::ReadBandwidth& bw) {
      return printf_string("%.1f GB/s (%.1f / %.1f; %.1f)", bw.best_gbps, bw.contiguous_gbps, bw.streams8_gbps,
                           bw.median_gbps);
    };
    int moved_reps = 0, probed_reps = 0;
    double moved_most = 0;
    // Two-thread tg tests: the threads' round trip beside each probe (thread_round_trip.h).
    std::string trip_line;
    double trip_lo = INFINITY, trip_hi = 0;

    if (static_cast<size_t>(reps) % tools::balanced_rounds(runnable.size()) != 0)
      std::fprintf(stderr,
                   "bench: with %zu variants the order is balanced every %zu repetitions; -r %d leaves some "
                   "of them first more often than others\n",
                   runnable.size(), tools::balanced_rounds(runnable.size()), reps);
    const double load_before = tools::load_average_1m();
    if (load_before > 0.5)
      std::fprintf(stderr, "bench: 1-minute load average is %.2f before starting; results may be noisy\n",
                   load_before);
    std::vector<float> logits(static_cast<size_t>(hp.vocab_size));
    tools::OtherCpu overall;
    int busy_rows = 0;
    double busy_max = 0;
    for (const Test& test : tests) {
      const std::string name = (test.prompt ? "pp" : "tg") + std::to_string(test.n);
      for (int32_t nt : threads) {
        std::fprintf(stderr, "bench: %s, %d thread%s\n", name.c_str(), nt, nt == 1 ? "" : "s");
        std::vector<std::unique_ptr<Session>> sessions;
        std::vector<BenchRow> rows(runnable.size());
        std::vector<tools::OtherCpu> busy(runnable.size());
        for (size_t c = 0; c < runnable.size(); ++c) {
          const Model& model = *models[runnable[c].model].model;
          SessionOptions so;
          so.n_threads = nt;
          so.hyper_mode = runnable[c].config.mode;
          so.n_ctx = n_ctx;
          sessions.push_back(std::make_unique<Session>(models[runnable[c].model].model, so));
          rows[c] = BenchRow{};
          rows[c].test = name;
          rows[c].n_tokens = test.n;
          rows[c].threads = nt;
          rows[c].config = runnable[c].config.name;
          rows[c].weights = models[runnable[c].model].label;
          rows[c].has_cache = runnable[c].config.mode == HyperMode::Table && model.hyper_cache();
          if (!test.prompt)
            rows[c].weight_bytes_per_token = static_cast<double>(decode_weight_traffic(model, so.hyper_mode).total());
        }
        const kernels::ReadBandwidth bw_before =
            !test.prompt && bw_mib > 0 ? probe(nt, kProbePasses) : kernels::ReadBandwidth{};
        // The best pass of each probe: before the first repetition, between each two, after
        // the last.
        std::vector<double> probes, trips;
        if (bw_before.best_gbps > 0) probes.push_back(bw_before.best_gbps);
        const bool measure_trips = bw_before.best_gbps > 0 && nt >= 2;
        auto round_trip = [&] {
          const double ns = kernels::thread_round_trip_ns();
          if (!std::isnan(ns)) trips.push_back(ns);
        };
        if (measure_trips) round_trip();
        // tg: the bytes of keys and values each variant's recorded tokens read.
        std::vector<double> kv_bytes(runnable.size(), 0.0);
        // One repetition: every variant from an empty context, in `order`. pp runs each
        // variant's prompt in turn; tg has the variants take turns token by token, so that
        // a slow moment of a shared machine lands on all of them alike.
        auto repetition = [&](const std::vector<int32_t>& tokens, const std::vector<size_t>& order, bool record) {
          for (size_t c : order) {
            sessions[c]->reset();
            if (!test.prompt && sessions[c]->encoder_decoder()) {
              const std::vector<int32_t> input = random_tokens(kTgEncoded, hp.vocab_size, seed + 17);
              sessions[c]->encode(input.data(), kTgEncoded);
            }
            rows[c].seconds.push_back(0);
            rows[c].cpu_seconds.push_back(0);
          }
          const int64_t steps = test.prompt ? 1 : test.n;
          for (int64_t i = 0; i < steps; ++i)
            for (size_t c : order) {
              const HyperCache* cache = models[runnable[c].model].model->hyper_cache();
              const HyperCacheStats before = cache ? cache->stats() : HyperCacheStats{};
              const double hyper_before = sessions[c]->counters().hyper_seconds;
              if (record && !test.prompt) kv_bytes[c] += static_cast<double>(sessions[c]->decode_kv_bytes());
              const RunTime rt =
                  test.prompt ? time_eval(*sessions[c], tokens.data(), test.n, &logits, sessions[c]->encoder_decoder())
                              : time_eval(*sessions[c], tokens.data() + i, 1, &logits, false);
              rows[c].seconds.back() += rt.wall;
              rows[c].cpu_seconds.back() += rt.cpu;
              if (record) rows[c].hyper_seconds += sessions[c]->counters().hyper_seconds - hyper_before;
              if (record && rows[c].has_cache) {
                const HyperCacheStats after = cache->stats();
                rows[c].cache_hits += after.hits - before.hits;
                rows[c].cache_misses += after.misses - before.misses;
                rows[c].cache_evictions += after.evictions - before.evictions;
              }
            }
          if (!record)
            for (size_t c : order) {
              rows[c].seconds.pop_back();
              rows[c].cpu_seconds.pop_back();
            }
        };
        std::vector<size_t> order(runnable.size());
        for (size_t c = 0; c < order.size(); ++c) order[c] = c;
        for (int w = 0; w < warmup; ++w)
          repetition(random_tokens(test.n, hp.vocab_size, 1000003ull * seed + 7919ull * w + 1), order, false);
        for (int r = 0; r < reps; ++r) {
          // Fresh tokens each repetition (the same for every variant), so an on-demand
          // cache is measured on text it has not seen rather than on a replay.
          const std::vector<int32_t> tokens = random_tokens(test.n, hp.vocab_size, 1000003ull * seed + 104729ull * (r + 1));
          // Each repetition takes the next row of a balanced design (run_order.h): a run
          // slows the one after it (measured: plain MoE ran ~8% slower right after a
          // per-token run), and the first of a repetition follows the pause between them,
          // so every variant takes every position and follows every other equally often
          // (in any balanced_rounds(n) consecutive repetitions).
          order = tools::balanced_order(runnable.size(), static_cast<size_t>(r));
          if (!probes.empty() && r > 0) {
            probes.push_back(probe(nt, kProbePassesBetween).best_gbps);
            if (measure_trips) round_trip();
          }
          const tools::CpuSample a = tools::sample_cpu();
          repetition(tokens, order, true);
          const tools::CpuSample b = tools::sample_cpu();
          overall.add(a, b);
          for (size_t c = 0; c < runnable.size(); ++c) {
            busy[c].add(a, b);
            if (c != base) {
              rows[c].ratios.push_back(rows[c].seconds.back() / rows[base].seconds.back());
              rows[c].cpu_ratios.push_back(rows[c].cpu_seconds.back() / rows[base].cpu_seconds.back());
            }
          }
        }
        if (bw_before.best_gbps > 0) {
          const kernels::ReadBandwidth after = probe(nt, kProbePasses);
          probes.push_back(after.best_gbps);
          if (measure_trips) round_trip();
          // Repetition r ran between probes r and r + 1: the better of the two is its
          // bandwidth.
          std::vector<double> beside;
          for (size_t r = 0; r + 1 < probes.size(); ++r) {
            const double hi = std::max(probes[r], probes[r + 1]), lo = std::min(probes[r], probes[r + 1]);
            beside.push_back(hi);
            ++probed_reps;
            if (hi / lo - 1.0 > kBandwidthMoved) ++moved_reps;
            moved_most = std::max(moved_most, hi / lo - 1.0);
          }
          bw_line += (bw_line.empty() ? " " : "; ") + name + ", " + std::to_string(nt) + " thread" +
                     (nt == 1 ? "" : "s") + ": " + describe(bw_before) + " before, " + describe(after) + " after" +
                     printf_string(", %.1f-%.1f GB/s beside the repetitions (median %.1f)",
                                   *std::min_element(beside.begin(), beside.end()),
                                   *std::max_element(beside.begin(), beside.end()), median(beside));
          for (BenchRow& row : rows) {
            row.read_gbps_before = bw_before.best_gbps;
            row.read_gbps_after = after.best_gbps;
            row.read_gbps_reps = beside;
            row.round_trip_ns = trips;
          }
          if (!trips.empty()) {
            const auto [lo, hi] = std::minmax_element(trips.begin(), trips.end());
            trip_lo = std::min(trip_lo, *lo);
            trip_hi = std::max(trip_hi, *hi);
            trip_line += printf_string("%s%s, %d threads: %.0f-%.0f ns (median %.0f)", trip_line.empty() ? " " : "; ",
                                       name.c_str(), nt, *lo, *hi, median(trips));
          }
        }
        for (size_t c = 0; c < runnable.size(); ++c) {
          if (!test.prompt && reps > 0) rows[c].kv_bytes_per_token = kv_bytes[c] / (static_cast<double>(reps) * test.n);
          rows[c].other_cpu = busy[c].known() ? busy[c].fraction() : -1;
          if (rows[c].other_cpu * 100.0 > busy_warn) {
            ++busy_rows;
            busy_max = std::max(busy_max, rows[c].other_cpu);
          }
          report.rows.push_back(std::move(rows[c]));
        }
      }
    }
    if (busy_rows > 0)
      report.warnings.push_back(
          printf_string("other processes used more than %.0f%% of the CPUs during %d of %zu rows (up to %.0f%%, see "
                        "'other CPU'): those times are suspect (a thread that is descheduled in the middle of a "
                        "product delays it). Rerun when the machine is quiet.",
                        busy_warn, busy_rows, report.rows.size(), 100.0 * busy_max));
    if (!bw_line.empty())
      report.header.push_back("read bandwidth (" + std::to_string(bw_mib) +
                              " MiB, best of " + std::to_string(kProbePasses) + " passes, " +
                              std::to_string(kProbePassesBetween) +
                              " between repetitions; front to back / 8 streams per thread; median pass):" + bw_line);
    if (!trip_line.empty())
      report.header.push_back("threads' round trip (a cache line from the calling thread to a helper and back, beside "
                              "each probe):" + trip_line);
    // The two states met on a 2-vCPU VM were about 85 and about 400 ns (thread_round_trip.h).
    if (trip_hi > 2.0 * trip_lo)
      report.warnings.push_back(printf_string(
          "the threads' round trip moved between %.0f and %.0f ns: the threads ran on cores nearer and farther apart "
          "in turn. Farther apart, each product shared between them costs more, and the read bandwidth may be "
          "higher: two-thread 'of read bw' is lower there (bench/README.md).",
          trip_lo, trip_hi));
    if (moved_reps > 0)
      report.warnings.push_back(printf_string(
          "the read bandwidth moved by more than %.0f%% (up to %.0f%%) between the probes before and after %d of %d "
          "repetitions (another process's memory traffic, most likely): their 'of read bw' is as uncertain. Rerun "
          "when the machine is quiet.",
          100.0 * kBandwidthMoved, 100.0 * moved_most, moved_reps, probed_reps));
    for (const BenchModel& bm : models)
      if (const HyperCache* cache = bm.model->hyper_cache())
        report.header.push_back("after, " + bm.label + ": " + cache->stats().to_string());
    if (overall.known()) {
      char line[96];
      std::snprintf(line, sizeof line, "other processes used %.1f%% of the CPUs during the timed runs",
                    100.0 * overall.fraction());
      report.header.push_back(line);
    }

    const std::string text =
        output == "md" ? report_markdown(report) : output == "csv" ? report_csv(report) : report_json(report);
    out("%s", text.c_str());
    if (output != "md")
      for (const std::string& w : report.warnings) std::fprintf(stderr, "bench: warning: %s\n", w.c_str());
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("bench", "prompt and generation speed: plain MoE vs cached vs per-token HyperExperts", run_bench);

}  // namespace hmoe::cli
