// `hmoe logits`: the logits of every position of a token-id sequence, so a conversion
// can be checked against the source framework; `--greedy N` checks the KV cache path.
#include <algorithm>
#include <cstdio>

#include "runtime/model/session.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/npy.h"

namespace hmoe::cli {
namespace {

int run_logits(const std::vector<std::string>& argv) {
  return guarded("logits", [&] {
    std::string model_path, ids_text, encoder_ids_text, out_path, hyper = "table";
    int threads = 0, greedy = 0;
    int64_t cache_mb = 256;
    ArgParser p("logits",
                "-m FILE [--encoder-ids 5,6,1] --ids 1,2,3 [-o OUT.npy] [--greedy N] [-t THREADS] "
                "[--hyper table|pertoken]",
                "Prints (or writes as float32 .npy [T, V]) the logits of every position of a token-id\n"
                "sequence, evaluated as one call. With --greedy N it instead feeds the ids, generates N\n"
                "tokens greedily one at a time through the KV cache, and prints the generated ids\n"
                "comma-separated. Encoder-decoder models (Switch) first encode --encoder-ids; --ids\n"
                "are then the decoder's tokens (starting with its start token).");
    p.opt("-m,--model", &model_path, "model file (.hmoe)")
        .opt("--encoder-ids", &encoder_ids_text, "encoder-decoder models: the encoder's input ids")
        .opt("--ids", &ids_text, "comma-separated token ids (the decoder's, for an encoder-decoder)")
        .opt("-o,--output", &out_path, "write the logits to this .npy file")
        .opt("--greedy", &greedy, "generate N tokens greedily and print their ids")
        .opt("-t,--threads", &threads, "threads (default: all cores)")
        .opt("--hyper", &hyper, "HyperExpert path: table (cached) or pertoken (hypernetwork per token)")
        .opt("--hyper-cache-mb", &cache_mb, "HyperExpert cache budget in MiB (default 256)");
    if (!p.parse(argv)) return 0;
    if (model_path.empty()) throw UsageError("missing -m FILE");
    if (ids_text.empty()) throw UsageError("missing --ids");
    const std::vector<int32_t> ids = parse_int_list("--ids", ids_text);
    if (threads < 0 || threads > 4096) throw UsageError("--threads must be in [0, 4096], got " + std::to_string(threads));
    if (greedy < 0) throw UsageError("--greedy must be >= 0, got " + std::to_string(greedy));
    if (cache_mb < 0 || cache_mb > (int64_t(1) << 30)) throw UsageError("--hyper-cache-mb out of range");
    SessionOptions so;
    so.n_threads = threads;
    if (hyper == "table") so.hyper_mode = HyperMode::Table;
    else if (hyper == "pertoken") so.hyper_mode = HyperMode::PerToken;
    else throw UsageError("--hyper must be table or pertoken, got '" + hyper + "'");

    ModelOptions mo;
    mo.hyper_cache_bytes = static_cast<uint64_t>(cache_mb) << 20;
    mo.n_threads = threads;
    auto model = Model::load(model_path, mo);
    Session s(model, so);
    if (s.encoder_decoder()) {
      if (encoder_ids_text.empty()) throw UsageError("this model is an encoder-decoder: give --encoder-ids too");
      const std::vector<int32_t> enc = parse_int_list("--encoder-ids", encoder_ids_text);
      s.encode(enc.data(), static_cast<int64_t>(enc.size()));
    } else if (!encoder_ids_text.empty()) {
      throw UsageError("--encoder-ids: this model is decoder-only");
    }
    const int64_t V = model->hparams().vocab_size, T = static_cast<int64_t>(ids.size());
    if (greedy > 0) {
      std::vector<float> logits(V);
      s.eval(ids.data(), T, logits.data());
      for (int i = 0; i < greedy; ++i) {
        const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        std::printf("%s%d", i ? "," : "", next);
        if (i + 1 < greedy) s.eval(&next, 1, logits.data());
      }
      std::printf("\n");
      return 0;
    }
    std::vector<float> logits(static_cast<size_t>(T * V));
    s.eval(ids.data(), T, logits.data(), /*all_positions=*/true);
    if (!out_path.empty()) {
      write_npy_f32(out_path, logits.data(), {T, V});
    } else {
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t v = 0; v < V; ++v) std::printf("%s%.9g", v ? " " : "", logits[t * V + v]);
        std::printf("\n");
      }
    }
    return 0;
  });
}

}  // namespace

HMOE_COMMAND("logits", "logits of a token-id sequence (text or .npy), or a greedy continuation", run_logits);

}  // namespace hmoe::cli
