// `hmoe logits`: the logits of every position of a token-id sequence, so a conversion
// can be checked against the source framework; `--greedy N` checks the KV cache path
// through the API's generation loop (greedy: temperature 0, no penalty, no stop at
// end-of-text).
#include <algorithm>
#include <cstdio>

#include "runtime/api/hypermoe.hpp"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/model_flags.h"
#include "tools/cli/npy.h"
#include "tools/cli/output.h"

namespace hmoe::cli {
namespace {

int run_logits(const std::vector<std::string>& argv) {
  return guarded("logits", [&] {
    ModelFlags mf;
    std::string ids_text, encoder_ids_text, out_path;
    int greedy = 0;
    ArgParser p("logits",
                "[-m FILE] [--encoder-ids 5,6,1] --ids 1,2,3 [-o OUT.npy] [--greedy N] [-t THREADS] "
                "[--hyper table|pertoken]",
                "Prints (or writes as float32 .npy [T, V]) the logits of every position of a token-id\n"
                "sequence, evaluated as one call. With --greedy N it instead feeds the ids, generates N\n"
                "tokens greedily one at a time through the KV cache, and prints the generated ids\n"
                "comma-separated. Encoder-decoder models (Switch) first encode --encoder-ids; --ids are\n"
                "then the decoder's tokens, starting with its start token (expert capacity counts the\n"
                "tokens of that one call, as the authors' code does).\n"
                "Without -m, uses the model that ships in models/ (or $HMOE_MODEL).");
    mf.declare(p);
    p.opt("--encoder-ids", &encoder_ids_text, "encoder-decoder models: the encoder's input ids")
        .opt("--ids", &ids_text, "comma-separated token ids (the decoder's, for an encoder-decoder)")
        .path("-o,--output", &out_path, "write the logits to this .npy file (whole, or not at all)")
        .opt("--greedy", &greedy, "generate N tokens greedily and print their ids");
    if (!p.parse(argv)) return kExitOk;
    if (ids_text.empty()) throw UsageError("missing --ids");
    const std::vector<int32_t> ids = parse_int_list("--ids", ids_text);
    if (greedy < 0) throw UsageError("--greedy must be >= 0, got " + std::to_string(greedy));
    mf.check();
    if (!out_path.empty() && greedy > 0) throw UsageError("-o writes logits; --greedy prints ids: give one of them");

    const hypermoe::Model model = mf.load();
    hypermoe::SessionParams sp = mf.session_params();
    sp.sampling = hypermoe::SamplingParams::greedy();
    hypermoe::Session s(model, sp);
    if (model.info().encoder_decoder) {
      if (encoder_ids_text.empty()) throw UsageError("this model is an encoder-decoder: give --encoder-ids too");
      s.encode(parse_int_list("--encoder-ids", encoder_ids_text));
    } else if (!encoder_ids_text.empty()) {
      throw UsageError("--encoder-ids: this model is decoder-only");
    }
    if (greedy > 0) {
      // As `hmoe run -n`: clipped to what the context leaves, with a note, before any output.
      const int64_t room = s.info().n_ctx - static_cast<int64_t>(ids.size());
      hypermoe::GenerateOptions opt;
      opt.max_tokens = greedy;
      opt.stop_at_eos = false;
      if (room >= 0 && greedy > room) {
        std::fprintf(stderr, "note: generating %lld tokens, all the context leaves after the prompt\n",
                     (long long)room);
        opt.max_tokens = static_cast<int32_t>(room);
      }
      const hypermoe::Generation g = s.generate(ids, opt);
      std::string line;
      for (size_t i = 0; i < g.tokens.size(); ++i) line += (i ? "," : "") + std::to_string(g.tokens[i]);
      out("%s\n", line.c_str());
      return kExitOk;
    }
    const int64_t V = s.info().n_vocab, T = static_cast<int64_t>(ids.size());
    const std::vector<float> logits = s.eval_all_logits(ids);
    if (!out_path.empty()) {
      write_npy_f32(out_path, logits.data(), {T, V});
    } else {
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t v = 0; v < V; ++v) out("%s%.9g", v ? " " : "", logits[t * V + v]);
        out("\n");
      }
    }
    return kExitOk;
  });
}

}  // namespace

HMOE_COMMAND("logits", "logits of a token-id sequence (text or .npy), or a greedy continuation", run_logits);

}  // namespace hmoe::cli
