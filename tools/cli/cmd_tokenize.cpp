// `hmoe tokenize`: text -> the model's token ids (and their vocabulary spellings), using
// the tokenizer the model file carries, through the public API.
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/api/hypermoe.hpp"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/inputs.h"
#include "tools/cli/json.h"
#include "tools/cli/model_flags.h"
#include "tools/cli/output.h"

namespace hmoe::cli {
namespace {

void print_plain(const hypermoe::Model& model, const std::vector<int32_t>& ids, bool pieces) {
  if (!pieces) {
    // Comma-separated, so it can be passed straight to `hmoe run --ids`.
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) line += (i ? "," : "") + std::to_string(ids[i]);
    out("%s\n", line.c_str());
    return;
  }
  for (int32_t id : ids) out("%d\t%s\n", id, model.token_text(id).c_str());
}

void print_json(const hypermoe::Model& model, const std::vector<int32_t>& ids, bool pieces) {
  std::string json = "{\"count\": " + std::to_string(ids.size()) + ", \"ids\": [";
  for (size_t i = 0; i < ids.size(); ++i) json += (i ? ", " : "") + std::to_string(ids[i]);
  json += "]";
  if (pieces) {
    json += ", \"pieces\": [";
    for (size_t i = 0; i < ids.size(); ++i) json += (i ? ", " : "") + json_quote(model.token_text(ids[i]));
    json += "]";
  }
  out("%s}\n", json.c_str());
}

int run_tokenize(const std::vector<std::string>& argv) {
  return guarded("tokenize", [&] {
    ModelFlags mf;
    std::string prompt, prompt_file;
    bool pieces = false, json = false, no_special = false, raw_bytes = false;
    ArgParser p("tokenize", "[-m FILE] (-p TEXT | -f FILE) [--pieces] [--json]",
                "Prints the token ids of a text, comma-separated (ready for `hmoe run --ids`).\n"
                "Without -m, uses the model that ships in models/ (or $HMOE_MODEL). -f - reads standard\n"
                "input; texts are limited to 64 MiB.");
    mf.declare(p, /*hyper=*/false);
    p.opt("-p,--prompt", &prompt, "text to tokenize")
        .path("-f,--file", &prompt_file, "read the text from a file; - reads standard input")
        .flag("--pieces", &pieces, "print one token per line: id, then its vocabulary spelling")
        .flag("--json", &json, "print {\"count\", \"ids\"[, \"pieces\"]} as JSON")
        .flag("--no-special", &no_special, "treat <|endoftext|> in the text as plain text")
        .flag("--allow-invalid-utf8", &raw_bytes, "encode bytes that are not UTF-8 instead of refusing them");
    if (!p.parse(argv)) return kExitOk;
    if (p.seen("-p") == p.seen("-f"))
      throw UsageError(p.seen("-p") ? "give only one of -p and -f" : "give the text with -p TEXT or -f FILE");

    // The tokenizer is all it needs: the weights are not read (nor checked).
    mf.vocab_only = true;
    if (!prompt_file.empty()) prompt = read_input(prompt_file);
    const hypermoe::Model model = mf.load();
    uint32_t flags = 0;
    if (!no_special) flags |= HMOE_TOKENIZE_SPECIAL;
    if (raw_bytes) flags |= HMOE_TOKENIZE_ALLOW_INVALID_UTF8;
    const std::vector<int32_t> ids = model.tokenize(prompt, flags);
    if (json) print_json(model, ids, pieces);
    else print_plain(model, ids, pieces);
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("tokenize", "print the token ids of a text (and their pieces)", run_tokenize);

}  // namespace hmoe::cli
