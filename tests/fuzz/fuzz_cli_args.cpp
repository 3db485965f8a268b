// Fuzz target: the command line's flag parser (tools/cli/args.h) with the option set of
// `hmoe run` (every value type: string, int, int64, float, double, switches, a repeated
// flag, positionals), then parse_int_list on --ids as the commands do.
//
// Input: the arguments, separated by NUL bytes. The parser must either accept them or
// throw UsageError; an accepted numeric value must be finite and in its type's range.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/cli/args.h"

namespace {

constexpr size_t kMaxArgs = 64;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_cli_args: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  const char* p = reinterpret_cast<const char*>(data);
  for (size_t begin = 0; begin <= size && args.size() < kMaxArgs;) {
    size_t end = begin;
    while (end < size && p[end] != '\0') ++end;
    args.emplace_back(p + begin, end - begin);
    begin = end + 1;
  }

  std::string model, prompt, file, ids, hyper = "table", positional;
  std::vector<std::string> extra;
  int n_predict = 128, threads = 0, top_k = 40, ctx = 0;
  float temp = 0.8f, top_p = 0.95f, penalty = 1.1f;
  double scale = 1.0;
  int64_t seed = -1, cache_mb = 256;
  bool stats = false, no_special = false;
  hmoe::cli::ArgParser parser("run", "[options] [NAME]", "fuzzing");
  parser.opt("-m,--model", &model, "model file")
      .opt("-p,--prompt", &prompt, "prompt text")
      .opt("-f,--file", &file, "prompt file")
      .opt("--ids", &ids, "token ids")
      .opt("-n,--n-predict", &n_predict, "tokens")
      .opt("--temp", &temp, "temperature")
      .opt("--top-k", &top_k, "top k")
      .opt("--top-p", &top_p, "top p")
      .opt("--repeat-penalty", &penalty, "penalty")
      .opt("--scale", &scale, "a double")
      .opt("--seed", &seed, "seed")
      .opt("-t,--threads", &threads, "threads")
      .opt("-c,--ctx", &ctx, "context")
      .opt("--hyper", &hyper, "table or pertoken")
      .opt("--hyper-cache-mb", &cache_mb, "budget")
      .multi("--meta", &extra, "repeated")
      .flag("--stats", &stats, "statistics")
      .flag("--no-special", &no_special, "plain text")
      .positional("NAME", &positional, "optional name", /*required=*/false);

  // --help prints to stdout: keep the fuzzer's output readable.
  static FILE* const devnull = std::freopen("/dev/null", "w", stdout);
  (void)devnull;
  try {
    parser.parse(args);
  } catch (const hmoe::cli::UsageError&) {
    return 0;
  }
  check(std::isfinite(temp) && std::isfinite(top_p) && std::isfinite(penalty) && std::isfinite(scale),
        "an accepted float is not finite");
  if (!ids.empty()) {
    try {
      const std::vector<int32_t> list = hmoe::cli::parse_int_list("--ids", ids);
      check(!list.empty(), "parse_int_list accepted an empty list");
    } catch (const hmoe::cli::UsageError&) {
    }
  }
  check(!parser.help().empty(), "empty help");
  return 0;
}
