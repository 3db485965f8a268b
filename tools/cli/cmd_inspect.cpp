// `hmoe inspect`: what a .hmoe file holds: architecture, hyper-parameters, tokenizer,
// metadata and every tensor, as text or JSON. Reads the header and the tensor table
// only (verified by the reader); it works on any well-formed file, complete model or not.
// That needs the file reader itself, below the public API: see tools/cli/internal.h.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "formats/model_file.h"
#include "runtime/model/arch.h"
#include "runtime/text/model_tokenizer.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/default_model.h"
#include "tools/cli/internal.h"
#include "tools/cli/json.h"
#include "tools/cli/output.h"

namespace hmoe::cli {
namespace {

// The hyper-parameters the file's architecture uses, in its order, as (name, value
// printed as JSON); every one in schema order when the architecture is unknown.
std::vector<std::pair<std::string, std::string>> hparams_of(const ModelHeader& h) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> names;
  try {
    names = arch_spec(h.arch).hparam_names();
  } catch (const FormatError&) {
    for (const HParamField& f : hparam_fields()) names.push_back(f.name);
  }
  for (const std::string& n : names) out.emplace_back(n, hparam_value_text(*find_hparam(n), h.hparams));
  return out;
}

// Whether the runtime would load the file's structure (check_model_file: architecture,
// hyper-parameters, every tensor as declared): "" when it would, else why not.
std::string structure_problem(const ModelFile& file) {
  try {
    check_model_file(file);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

struct TokenizerSummary {
  bool present = false;
  std::string kind;
  size_t vocab = 0, merges = 0;
  int32_t eos = -1, bos = -1;
  std::string eos_piece, bos_piece;
  std::string problem;  // why the runtime would refuse it; empty when it loads
};

TokenizerSummary tokenizer_of(const ModelFile& file) {
  TokenizerSummary s;
  const TokenizerData& t = file.header().tokenizer;
  if (t.kind == TokenizerKind::None) return s;
  s.present = true;
  s.kind = tokenizer_kind_name(t.kind);
  s.vocab = t.vocab.size();
  s.merges = t.merges.size();
  s.eos = t.eos_id;
  s.bos = t.bos_id;
  auto piece = [&](int32_t id) { return id >= 0 && static_cast<size_t>(id) < s.vocab ? t.vocab[id] : std::string(); };
  s.eos_piece = piece(s.eos);
  s.bos_piece = piece(s.bos);
  try {
    text::load_model_tokenizer(file);
  } catch (const std::exception& e) {
    s.problem = e.what();
  }
  return s;
}

struct Totals {
  int64_t parameters = 0;
  uint64_t bytes = 0;
  std::map<std::string, std::pair<int64_t, uint64_t>> by_dtype;  // name -> (tensors, bytes)
};

Totals totals_of(const ModelFile& file) {
  Totals t;
  for (const TensorInfo& ti : file.tensors()) {
    t.parameters += ti.numel();
    t.bytes += ti.size;
    auto& d = t.by_dtype[dtype_name(ti.dtype)];
    d.first += 1;
    d.second += ti.size;
  }
  return t;
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= (1ULL << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824.0);
  else if (b >= (1ULL << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", b / 1048576.0);
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%" PRIu64 " B", b);
  return buf;
}

void print_text(const ModelFile& file) {
  const ModelHeader& h = file.header();
  out("file: %s (%s, %" PRIu64 " bytes), format version %u\n", file.source().c_str(),
              human_bytes(file.file_size()).c_str(), file.file_size(), file.format_version());
  out("architecture: %s\n", arch_name(h.arch).c_str());
  out("hyper-parameters:\n");
  for (const auto& [name, value] : hparams_of(h)) out("  %-32s %s\n", name.c_str(), value.c_str());
  out("HyperExpert tables baked: %s\n", h.hyper_baked ? "yes" : "no");
  const std::string problem = structure_problem(file);
  out("tensors match the architecture: %s\n", problem.empty() ? "yes" : ("no: " + problem).c_str());

  const TokenizerSummary tok = tokenizer_of(file);
  if (!tok.present) {
    out("tokenizer: none (the model accepts token ids only)\n");
  } else {
    out("tokenizer: %s, %zu tokens, %zu merges, eos %d%s, bos %d%s\n", tok.kind.c_str(), tok.vocab, tok.merges,
                tok.eos, tok.eos_piece.empty() ? "" : (" " + json_quote(tok.eos_piece)).c_str(), tok.bos,
                tok.bos_piece.empty() ? "" : (" " + json_quote(tok.bos_piece)).c_str());
    if (!tok.problem.empty()) out("tokenizer problem: %s\n", tok.problem.c_str());
  }

  out("metadata:%s\n", h.metadata.empty() ? " none" : "");
  for (const auto& [key, value] : h.metadata)
    out("  %s = %s\n", json_quote(key).c_str(), json_quote(value).c_str());

  out("tensors: %zu\n", file.tensors().size());
  size_t width = 4;
  for (const TensorInfo& t : file.tensors()) width = std::max(width, t.name.size());
  out("  %-*s  %-5s  %-22s  %14s\n", static_cast<int>(width), "name", "dtype", "shape", "bytes");
  for (const TensorInfo& t : file.tensors())
    out("  %-*s  %-5s  %-22s  %14" PRIu64 "\n", static_cast<int>(width), t.name.c_str(), dtype_name(t.dtype),
                t.shape_str().c_str(), t.size);
  const Totals tot = totals_of(file);
  out("totals: %zu tensors, %" PRId64 " parameters, %" PRIu64 " bytes (%s)\n", file.tensors().size(),
              tot.parameters, tot.bytes, human_bytes(tot.bytes).c_str());
  for (const auto& [name, d] : tot.by_dtype)
    out("  %-5s %6" PRId64 " tensors %14" PRIu64 " bytes (%s)\n", name.c_str(), d.first, d.second,
                human_bytes(d.second).c_str());
}

void print_json(const ModelFile& file) {
  const ModelHeader& h = file.header();
  std::string o = "{\n";
  o += "  \"file\": " + json_quote(file.source()) + ",\n";
  o += "  \"file_size\": " + std::to_string(file.file_size()) + ",\n";
  o += "  \"format_version\": " + std::to_string(file.format_version()) + ",\n";
  o += "  \"architecture\": " + json_quote(arch_name(h.arch)) + ",\n";
  o += "  \"hparams\": {";
  bool first = true;
  for (const auto& [name, value] : hparams_of(h)) {
    o += std::string(first ? "" : ", ") + json_quote(name) + ": " + value;
    first = false;
  }
  o += "},\n";
  o += std::string("  \"hyper_baked\": ") + (h.hyper_baked ? "true" : "false") + ",\n";
  const std::string problem = structure_problem(file);
  o += "  \"structure_problem\": " + (problem.empty() ? std::string("null") : json_quote(problem)) + ",\n";
  o += "  \"data_alignment\": " + std::to_string(file.data_alignment()) + ",\n";

  const TokenizerSummary tok = tokenizer_of(file);
  if (!tok.present) {
    o += "  \"tokenizer\": null,\n";
  } else {
    o += "  \"tokenizer\": {\"kind\": " + json_quote(tok.kind) + ", \"vocab_size\": " + std::to_string(tok.vocab) +
         ", \"merges\": " + std::to_string(tok.merges) + ", \"eos_id\": " + std::to_string(tok.eos) +
         ", \"bos_id\": " + std::to_string(tok.bos) +
         ", \"problem\": " + (tok.problem.empty() ? "null" : json_quote(tok.problem)) + "},\n";
  }

  o += "  \"metadata\": {";
  first = true;
  for (const auto& [key, value] : h.metadata) {
    o += std::string(first ? "" : ", ") + json_quote(key) + ": " + json_quote(value);
    first = false;
  }
  o += "},\n";

  o += "  \"tensors\": [";
  first = true;
  for (const TensorInfo& t : file.tensors()) {
    o += std::string(first ? "\n" : ",\n") + "    {\"name\": " + json_quote(t.name) +
         ", \"dtype\": " + json_quote(dtype_name(t.dtype)) + ", \"shape\": [";
    for (size_t i = 0; i < t.shape.size(); ++i) o += (i ? ", " : "") + std::to_string(t.shape[i]);
    o += "], \"offset\": " + std::to_string(t.offset) + ", \"bytes\": " + std::to_string(t.size) + "}";
    first = false;
  }
  o += file.tensors().empty() ? "],\n" : "\n  ],\n";

  const Totals tot = totals_of(file);
  o += "  \"totals\": {\"tensors\": " + std::to_string(file.tensors().size()) +
       ", \"parameters\": " + std::to_string(tot.parameters) + ", \"bytes\": " + std::to_string(tot.bytes) +
       ", \"by_dtype\": {";
  first = true;
  for (const auto& [name, d] : tot.by_dtype) {
    o += std::string(first ? "" : ", ") + json_quote(name) + ": {\"tensors\": " + std::to_string(d.first) +
         ", \"bytes\": " + std::to_string(d.second) + "}";
    first = false;
  }
  o += "}}\n}\n";
  out("%s", o.c_str());
}

int run_inspect(const std::vector<std::string>& argv) {
  return guarded_internal("inspect", [&] {
    std::string path, model_path;
    bool json = false;
    ArgParser p("inspect", "[-m] FILE [--json]",
                "Shows what a .hmoe file holds: architecture, hyper-parameters, tokenizer, metadata,\n"
                "every tensor (dtype, shape, bytes) and totals. Without a file, the model that ships\n"
                "in models/ (or $HMOE_MODEL).");
    p.positional("FILE", &path, "model file (.hmoe), or give it with -m", /*required=*/false)
        .path("-m,--model", &model_path, "model file (.hmoe), as every command takes it")
        .flag("--json", &json, "print JSON instead of text");
    if (!p.parse(argv)) return kExitOk;
    if (!path.empty() && !model_path.empty()) throw UsageError("give the file once: FILE or -m FILE");
    if (path.empty()) path = model_path;
    if (path.empty()) path = find_default_model();
    const auto file = ModelFile::open(path);
    if (json) print_json(*file);
    else print_text(*file);
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("inspect", "show a model file's architecture, tokenizer, metadata and tensors", run_inspect);

}  // namespace hmoe::cli
