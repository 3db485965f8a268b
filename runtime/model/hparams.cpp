#include "runtime/model/hparams.h"

#include "formats/model_file.h"
#include "hmoe_generated.h"

namespace hmoe {

HParams HParams::from_file(const ModelFile& file) {
  const fb::Model& m = file.header();
  if (m.arch() != fb::Arch::GPT2_HYPERMOE)
    throw FormatError("'" + file.source() + "': unsupported architecture " +
                      std::to_string(static_cast<int>(m.arch())));
  const fb::HParams* h = m.hparams();
  HParams p;
  p.vocab_size = h->vocab_size();
  p.n_positions = h->n_positions();
  p.n_embd = h->n_embd();
  p.n_layer = h->n_layer();
  p.n_head = h->n_head();
  p.layer_norm_epsilon = h->layer_norm_epsilon();
  p.n_experts = h->n_experts();
  p.top_k = h->top_k();
  p.use_hypernet = h->use_hypernet();
  p.experts_embedding_dim = h->experts_embedding_dim();
  p.process_dim = h->process_dim();
  p.hypernet_input = h->hypernet_input();
  p.hypernetwork_bottleneck = h->hypernetwork_bottleneck();
  p.layer_emb_dim = h->layer_emb_dim();
  p.adapter_dim = h->adapter_dim();
  try {
    p.validate();
  } catch (const FormatError& e) {
    throw FormatError("'" + file.source() + "': " + e.what());
  }
  return p;
}

void HParams::validate() const {
  auto in_range = [](const char* name, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      throw FormatError(std::string("hyper-parameter ") + name + " = " + std::to_string(v) + " is outside [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  in_range("vocab_size", vocab_size, 1, kMaxVocab);
  in_range("n_positions", n_positions, 1, kMaxPositions);
  in_range("n_embd", n_embd, 1, kMaxDim);
  in_range("n_layer", n_layer, 1, kMaxLayers);
  in_range("n_head", n_head, 1, n_embd);
  if (n_embd % n_head != 0)
    throw FormatError("n_embd " + std::to_string(n_embd) + " is not a multiple of n_head " + std::to_string(n_head));
  in_range("n_experts", n_experts, 1, kMaxExperts);
  in_range("top_k", top_k, 1, n_experts);
  if (!(layer_norm_epsilon > 0.f && layer_norm_epsilon < 1.f))
    throw FormatError("layer_norm_epsilon " + std::to_string(layer_norm_epsilon) + " is outside (0, 1)");
  if (use_hypernet) {
    in_range("experts_embedding_dim", experts_embedding_dim, 1, kMaxDim);
    in_range("process_dim", process_dim, 1, kMaxDim);
    in_range("hypernet_input", hypernet_input, 1, kMaxDim);
    in_range("hypernetwork_bottleneck", hypernetwork_bottleneck, 1, kMaxDim);
    in_range("layer_emb_dim", layer_emb_dim, 0, kMaxDim);
    in_range("adapter_dim", adapter_dim, 1, kMaxDim);
  }
}

}  // namespace hmoe
