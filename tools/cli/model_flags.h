// The flags every command that runs a model shares (-m, -t, --hyper, --hyper-cache-mb,
// --no-precompute), checked and turned into the public API's params in one place, so
// each means the same in run, logits, perplexity and tokenize.
#pragma once
#include <cstdint>
#include <string>

#include "runtime/api/hypermoe.hpp"
#include "tools/cli/args.h"

namespace hmoe::cli {

struct ModelFlags {
  std::string path;  // -m; empty: the shipped model (default_model.h)
  int threads = 0;   // 0: the library's default
  std::string hyper = "table";
  int64_t cache_mb = hmoe_model_default_params().hyper_cache_mb;
  bool no_precompute = false;
  bool vocab_only = false;  // the header and tokenizer only (tokenize)

  // Declares the flags. `hyper`: also --hyper, --hyper-cache-mb and --no-precompute.
  void declare(ArgParser& p, bool hyper = true);
  // Usage checks of the values (UsageError).
  void check() const;
  hmoe_hyper_mode hyper_mode() const;
  // -m, or the shipped model. Throws hypermoe::Error (HMOE_ERR_IO) when it is not found.
  std::string model_path() const;
  // Loads the model. The HyperExpert cache is filled at load only where it will be
  // used: not with --no-precompute, not with --hyper pertoken (which never reads it).
  hypermoe::Model load() const;
  // Session params with these threads and this HyperExpert path, context n_ctx.
  hypermoe::SessionParams session_params(int32_t n_ctx = 0) const;
};

}  // namespace hmoe::cli
