#include "tools/cli/model_flags.h"

#include <stdexcept>

#include "tools/cli/default_model.h"

namespace hmoe::cli {

void ModelFlags::declare(ArgParser& p, bool hyper_flags) {
  p.path("-m,--model", &path, "model file (.hmoe); default: the shipped model (or $HMOE_MODEL)").threads("-t,--threads", &threads);
  if (!hyper_flags) return;
  p.opt("--hyper", &hyper, "HyperExpert path: table (cached, default) or pertoken (the hypernetwork for every token)")
      .opt("--hyper-cache-mb", &cache_mb,
           "HyperExpert cache budget in MiB (default " + std::to_string(hmoe_model_default_params().hyper_cache_mb) + ")")
      .flag("--no-precompute", &no_precompute,
            "fill the HyperExpert cache on demand instead of at load (faster load when few expert sets occur)");
}

void ModelFlags::check() const {
  if (cache_mb < 0 || cache_mb > (int64_t(1) << 30)) throw UsageError("--hyper-cache-mb out of range");
  if (hyper != "table" && hyper != "pertoken") throw UsageError("--hyper must be table or pertoken, got '" + hyper + "'");
}

hmoe_hyper_mode ModelFlags::hyper_mode() const { return hyper == "pertoken" ? HMOE_HYPER_PER_TOKEN : HMOE_HYPER_TABLE; }

std::string ModelFlags::model_path() const {
  if (!path.empty()) return path;
  try {
    return find_default_model();
  } catch (const std::runtime_error& e) {
    throw hypermoe::Error(HMOE_ERR_IO, e.what());
  }
}

hypermoe::Model ModelFlags::load() const {
  hypermoe::ModelParams mp;
  mp.hyper_cache_mb = cache_mb;
  mp.n_threads = threads_or_default(threads);
  mp.hyper_precompute = !no_precompute && hyper_mode() != HMOE_HYPER_PER_TOKEN;
  mp.vocab_only = vocab_only;
  return hypermoe::Model::load(model_path(), mp);
}

hypermoe::SessionParams ModelFlags::session_params(int32_t n_ctx) const {
  hypermoe::SessionParams sp;
  sp.n_threads = threads_or_default(threads);
  sp.hyper_mode = hyper_mode();
  sp.n_ctx = n_ctx;
  return sp;
}

}  // namespace hmoe::cli
