// hypermoe_example: loads a model, continues token ids or a prompt greedily, prints
// the generated ids and, when the model has a tokenizer, the text.
//
//   hypermoe_example -m MODEL.hmoe (--ids 1,2,3 | -p "text") [-n TOKENS] [-t THREADS]
//
// Output (stdout): "ids: 5,9,..." then "text: ..." for models with a tokenizer.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <hypermoe.hpp>
#include <string>
#include <vector>

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s -m MODEL.hmoe (--ids 1,2,3 | -p TEXT) [-n TOKENS] [-t THREADS]\n", argv0);
  return 2;
}

bool parse_int(const char* s, long lo, long hi, long* out) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool parse_ids(const std::string& text, std::vector<int32_t>* ids) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    long v = 0;
    if (!parse_int(text.substr(start, comma - start).c_str(), 0, INT32_MAX, &v)) return false;
    ids->push_back(static_cast<int32_t>(v));
    start = comma + 1;
  }
  return !ids->empty();
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, prompt, ids_text;
  long n_tokens = 32, n_threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "-m" && has_value) model_path = argv[++i];
    else if (a == "-p" && has_value) prompt = argv[++i];
    else if (a == "--ids" && has_value) ids_text = argv[++i];
    else if (a == "-n" && has_value && parse_int(argv[i + 1], 0, 1 << 20, &n_tokens)) ++i;
    else if (a == "-t" && has_value && parse_int(argv[i + 1], 1, HMOE_MAX_THREADS, &n_threads)) ++i;
    else return usage(argv[0]);
  }
  if (model_path.empty() || prompt.empty() == ids_text.empty()) return usage(argv[0]);

  try {
    std::fprintf(stderr, "hypermoe %s, SIMD %s\n", std::string(hypermoe::version()).c_str(),
                 std::string(hypermoe::simd_target()).c_str());
    hypermoe::ModelParams mp;
    if (n_threads > 0) mp.n_threads = static_cast<int32_t>(n_threads);
    const hypermoe::Model model = hypermoe::Model::load(model_path, mp);
    const hypermoe::ModelInfo info = model.info();

    std::vector<int32_t> ids;
    if (!ids_text.empty()) {
      if (!parse_ids(ids_text, &ids)) {
        std::fprintf(stderr, "--ids: expected comma-separated token ids, got '%s'\n", ids_text.c_str());
        return 2;
      }
    } else {
      ids = model.tokenize(prompt);
    }

    hypermoe::SessionParams sp;
    if (n_threads > 0) sp.n_threads = static_cast<int32_t>(n_threads);
    sp.sampling = hypermoe::SamplingParams::greedy();
    hypermoe::Session session(model, sp);
    hypermoe::GenerateOptions opt;
    opt.max_tokens = static_cast<int32_t>(n_tokens);
    const hypermoe::Generation g = session.generate(ids, opt);

    std::printf("ids: ");
    for (size_t i = 0; i < g.tokens.size(); ++i) std::printf("%s%d", i ? "," : "", g.tokens[i]);
    std::printf("\n");
    if (info.has_tokenizer) {
      // Ids the tokenizer does not know (a model may have spare rows) print as <id>.
      std::string text;
      for (int32_t t : g.tokens) {
        try {
          text += model.detokenize({t});
        } catch (const hypermoe::Error&) {
          text += "<" + std::to_string(t) + ">";
        }
      }
      std::printf("text: %s\n", text.c_str());
    }
    const char* why[] = {"max tokens", "end of sequence", "callback", "context full"};
    std::fprintf(stderr, "%zu tokens, stopped: %s\n", g.tokens.size(), why[g.stop_reason]);
  } catch (const hypermoe::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
