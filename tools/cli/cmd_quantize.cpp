// `hmoe quantize IN.hmoe OUT.hmoe --type q8|q4|f16|bf16 [--keep PATTERN=TYPE ...]`
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "formats/dtype.h"
#include "quant/model_quantizer.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"

namespace hmoe::cli {
namespace {

const char* kDescription =
    "Rewrites a model with its matrices in another dtype (round to nearest; q8_0 and q4_0\n"
    "quantise blocks of 32 weights along each row with one f16 scale per block).\n"
    "\n"
    "Which tensors change (first that applies):\n"
    "  - vectors stay f32, always: 1-D tensors, names ending in 'bias',\n"
    "    blk.*.hyper.expert_embd and hyper.layer_embd (the runtime reads them as f32)\n"
    "  - --keep rules, in the order given: PATTERN is a glob over tensor names\n"
    "    ('*' any characters, '?' one), e.g. --keep 'blk.*.attn.*=f16' --keep tok_embd=q8\n"
    "  - kept f32 by default: blk.*.moe.gate (the router), tok_embd, pos_embd\n"
    "  - every other matrix: --type\n"
    "q8/q4 need a last dimension that is a multiple of 32; other matrices keep their dtype.\n"
    "Tensor names: formats/TENSORS.md.";

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(1ull << 20));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  return buf;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// A progress bar on stderr when it is a terminal; nothing when it is a file or pipe.
class ProgressBar {
 public:
  ProgressBar() : tty_(isatty(fileno(stderr)) != 0) {}
  void update(double f, const std::string& what) {
    if (!tty_) return;
    const int width = 30, fill = static_cast<int>(f * width + 0.5);
    std::fprintf(stderr, "\r[%s%s] %3d%% %-48.48s", std::string(fill, '#').c_str(),
                 std::string(width - fill, ' ').c_str(), static_cast<int>(f * 100 + 0.5), what.c_str());
    std::fflush(stderr);
  }
  ~ProgressBar() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  bool tty_;
};

int run_quantize(const std::vector<std::string>& args) {
  return guarded("quantize", [&] {
    std::string in, out, type = "";
    std::vector<std::string> keep;
    ArgParser p("quantize", "IN.hmoe OUT.hmoe --type q8|q4|f16|bf16 [--keep PATTERN=TYPE ...]", kDescription);
    p.positional("IN.hmoe", &in, "model to read")
        .positional("OUT.hmoe", &out, "model to write (a new file)")
        .opt("-t,--type", &type, "dtype of the matrices: q8, q4, f16, bf16 (or f32)")
        .multi("-k,--keep", &keep, "PATTERN=TYPE: tensors matching PATTERN get TYPE (repeatable)");
    if (!p.parse(args)) return kExitOk;
    quant::QuantizeOptions o;
    if (type.empty()) throw UsageError("missing --type (q8, q4, f16, bf16)");
    if (!dtype_from_name(type, &o.type) || o.type == DType::I32)
      throw UsageError("unknown --type '" + type + "' (q8, q4, f16, bf16, f32)");
    for (const std::string& k : keep) {
      try {
        o.rules.push_back(quant::parse_quantize_rule(k));
      } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--keep: ") + e.what());
      }
    }
    quant::QuantizeSummary s;
    {
      ProgressBar bar;
      o.progress = [&](double f, const std::string& what) { bar.update(f, what); };
      s = quant::quantize_model(in, out, o);
    }
    std::map<std::string, int> counts;
    for (const auto& t : s.tensors) ++counts[dtype_name(t.to)];
    std::printf("%s -> %s (%s)\n", in.c_str(), out.c_str(), dtype_name(o.type));
    std::printf("  tensors: %zu (", s.tensors.size());
    bool first = true;
    for (const auto& [name, n] : counts) {
      std::printf("%s%s: %d", first ? "" : ", ", name.c_str(), n);
      first = false;
    }
    std::printf(")\n");
    std::printf("  tensor data: %s -> %s (%.2fx smaller)\n", human_bytes(s.tensor_bytes_before).c_str(),
                human_bytes(s.tensor_bytes_after).c_str(),
                s.tensor_bytes_after ? double(s.tensor_bytes_before) / s.tensor_bytes_after : 0.0);
    std::printf("  file: %s -> %s\n", human_bytes(s.file_bytes_before).c_str(), human_bytes(s.file_bytes_after).c_str());
    for (const auto& t : s.tensors)
      if (t.to == t.from && t.to != o.type && t.reason.find("columns") != std::string::npos)
        std::printf("  kept %s: %s %s (%s)\n", dtype_name(t.to), t.name.c_str(), shape_str(t.shape).c_str(),
                    t.reason.c_str());
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("quantize", "convert a model's matrices to q8/q4/f16/bf16", run_quantize);

}  // namespace hmoe::cli
