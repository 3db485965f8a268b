#include "runtime/model/hparams.h"

#include "formats/model_file.h"

namespace hmoe {

HParams hparams_from_file(const ModelFile& file) {
  const ModelHeader& m = file.header();
  if (m.arch != Arch::Gpt2HyperMoE)
    throw FormatError("'" + file.source() + "': unsupported architecture " + arch_name(m.arch));
  const HParams& p = m.hparams;
  try {
    validate_hparams(p);
  } catch (const FormatError& e) {
    throw FormatError("'" + file.source() + "': " + e.what());
  }
  return p;
}

void validate_hparams(const HParams& hp) {
  auto in_range = [](const char* name, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      throw FormatError(std::string("hyper-parameter ") + name + " = " + std::to_string(v) + " is outside [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  in_range("vocab_size", hp.vocab_size, 1, kMaxVocab);
  in_range("n_positions", hp.n_positions, 1, kMaxPositions);
  in_range("n_embd", hp.n_embd, 1, kMaxDim);
  in_range("n_layer", hp.n_layer, 1, kMaxLayers);
  in_range("n_head", hp.n_head, 1, hp.n_embd);
  if (hp.n_embd % hp.n_head != 0)
    throw FormatError("n_embd " + std::to_string(hp.n_embd) + " is not a multiple of n_head " + std::to_string(hp.n_head));
  in_range("n_experts", hp.n_experts, 1, kMaxExperts);
  in_range("top_k", hp.top_k, 1, hp.n_experts);
  if (!(hp.layer_norm_epsilon > 0.f && hp.layer_norm_epsilon < 1.f))
    throw FormatError("layer_norm_epsilon " + std::to_string(hp.layer_norm_epsilon) + " is outside (0, 1)");
  if (hp.use_hypernet) {
    in_range("experts_embedding_dim", hp.experts_embedding_dim, 1, kMaxDim);
    in_range("process_dim", hp.process_dim, 1, kMaxDim);
    in_range("hypernet_input", hp.hypernet_input, 1, kMaxDim);
    in_range("hypernetwork_bottleneck", hp.hypernetwork_bottleneck, 1, kMaxDim);
    in_range("layer_emb_dim", hp.layer_emb_dim, 0, kMaxDim);
    in_range("adapter_dim", hp.adapter_dim, 1, kMaxDim);
  }
}

}  // namespace hmoe
