#include "runtime/model/hparams.h"

#include "formats/model_file.h"
#include "runtime/model/arch.h"

namespace hmoe {

HParams hparams_from_file(const ModelFile& file) {
  const ModelHeader& m = file.header();
  try {
    arch_spec(m.arch).check(m.hparams);
  } catch (const FormatError& e) {
    throw FormatError("'" + file.source() + "': " + e.what());
  }
  return m.hparams;
}

void check_hparam_range(const char* name, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    throw FormatError(std::string("hyper-parameter ") + name + " = " + std::to_string(v) + " is outside [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

void check_epsilon(const HParams& hp) {
  if (!(hp.layer_norm_epsilon > 0.f && hp.layer_norm_epsilon < 1.f))
    throw FormatError("layer_norm_epsilon " + std::to_string(hp.layer_norm_epsilon) + " is outside (0, 1)");
}

void check_hyper_hparams(const HParams& hp) {
  if (!hp.use_hypernet) return;
  check_hparam_range("experts_embedding_dim", hp.experts_embedding_dim, 1, kMaxDim);
  check_hparam_range("process_dim", hp.process_dim, 1, kMaxDim);
  check_hparam_range("hypernet_input", hp.hypernet_input, 1, kMaxDim);
  check_hparam_range("hypernetwork_bottleneck", hp.hypernetwork_bottleneck, 1, kMaxDim);
  check_hparam_range("layer_emb_dim", hp.layer_emb_dim, 0, kMaxDim);
  check_hparam_range("adapter_dim", hp.adapter_dim, 1, kMaxDim);
}

}  // namespace hmoe
