// `hmoe tokenize`: text -> the model's token ids (and their vocabulary spellings), using
// the tokenizer the model file carries.
#include <cstdio>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "tools/common/json_string.h"
#include "runtime/text/model_tokenizer.h"
#include "tools/common/vocab_files.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/default_model.h"

namespace hmoe::cli {
namespace {

void print_plain(const text::Tokenizer& tok, const std::vector<int32_t>& ids, bool pieces) {
  if (!pieces) {
    // Comma-separated, so it can be passed straight to `hmoe run --ids`.
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) line += (i ? "," : "") + std::to_string(ids[i]);
    std::printf("%s\n", line.c_str());
    return;
  }
  for (int32_t id : ids) std::printf("%d\t%s\n", id, tok.piece(id).c_str());
}

void print_json(const text::Tokenizer& tok, const std::vector<int32_t>& ids, bool pieces) {
  std::string out = "{\"count\": " + std::to_string(ids.size()) + ", \"ids\": [";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
  out += "]";
  if (pieces) {
    out += ", \"pieces\": [";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + text::json_quote(tok.piece(ids[i]));
    out += "]";
  }
  std::printf("%s}\n", out.c_str());
}

int run_tokenize(const std::vector<std::string>& argv) {
  return guarded("tokenize", [&] {
    std::string model_path, prompt, prompt_file;
    bool pieces = false, json = false, no_special = false, raw_bytes = false;
    ArgParser p("tokenize", "[-m FILE] (-p TEXT | -f FILE) [--pieces] [--json]",
                "Prints the token ids of a text, comma-separated (ready for `hmoe run --ids`), as the model\n"
                "sees them: a SentencePiece (T5) tokenizer adds the file's bos and eos (T5: </s> at the end).\n"
                "Without -m, uses the model that ships in models/ (or $HMOE_MODEL).");
    p.opt("-m,--model", &model_path, "model file (.hmoe) whose tokenizer to use")
        .opt("-p,--prompt", &prompt, "text to tokenize")
        .opt("-f,--file", &prompt_file, "read the text from a file")
        .flag("--pieces", &pieces, "print one token per line: id, then its vocabulary spelling")
        .flag("--json", &json, "print {\"count\", \"ids\"[, \"pieces\"]} as JSON")
        .flag("--no-special", &no_special, "treat special tokens' text (<|endoftext|>, </s>, <extra_id_0>) as plain text")
        .flag("--allow-invalid-utf8", &raw_bytes, "encode bytes that are not UTF-8 instead of refusing them");
    if (!p.parse(argv)) return kExitOk;
    if (prompt.empty() == prompt_file.empty())
      throw UsageError(prompt.empty() ? "give the text with -p TEXT or -f FILE" : "give only one of -p and -f");

    if (model_path.empty()) model_path = find_default_model();
    const auto file = ModelFile::open(model_path);
    const auto tok = text::load_model_tokenizer(*file);
    if (!tok) throw std::runtime_error("'" + model_path + "': this model has no tokenizer; it accepts token ids only");
    if (!prompt_file.empty()) prompt = text::read_text_file(prompt_file);

    text::EncodeOptions options;
    options.special_tokens = !no_special;
    options.allow_invalid_utf8 = raw_bytes;
    const std::vector<int32_t> ids = tok->encode(prompt, options);
    if (json) print_json(*tok, ids, pieces);
    else print_plain(*tok, ids, pieces);
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("tokenize", "print the token ids of a text (and their pieces)", run_tokenize);

}  // namespace hmoe::cli
