#include "tools/common/decode_traffic.h"

#include "runtime/model/hyper_cache.h"

namespace hmoe {
namespace {

uint64_t floats(int64_t n) { return static_cast<uint64_t>(n) * sizeof(float); }
uint64_t bytes(const kernels::MatrixView& m) { return static_cast<uint64_t>(m.bytes()); }
uint64_t row_bytes(const kernels::MatrixView& m) { return m.rows ? bytes(m) / static_cast<uint64_t>(m.rows) : 0; }

}  // namespace

DecodeTraffic decode_weight_traffic(const Model& model, HyperMode mode) {
  const HParams& hp = model.hparams();
  const ModelWeights& w = model.weights();
  const int64_t d = hp.n_embd;
  DecodeTraffic t;
  for (const LayerWeights& l : w.layers) {
    t.attention += floats(4 * d) + bytes(l.qkv) + floats(l.qkv.rows) + bytes(l.attn_out) + floats(d);
    // fc and proj are views of expert 0; every expert is the same size.
    t.experts += bytes(l.gate) + static_cast<uint64_t>(hp.top_k) *
                                     (bytes(l.fc) + floats(l.fc.rows) + bytes(l.proj) + floats(l.proj.rows));
  }
  if (hp.use_hypernet && mode == HyperMode::Table && model.hyper_cache())
    t.hyper = static_cast<uint64_t>(hp.n_layer) * model.hyper_cache()->stats().entry_bytes;
  if (hp.use_hypernet && mode == HyperMode::PerToken && model.has_hypernetwork()) {
    const HyperGeneratorWeights& g = w.generator;
    // Per layer: the unselected experts' embeddings through the layer's processing MLP,
    // then the shared generator, whose weight_down and weight_up dominate.
    const uint64_t generator = floats(hp.layer_emb_dim) + bytes(g.linear1) + floats(g.linear1.rows) +
                               bytes(g.weight_down) + floats(g.weight_down.rows) + bytes(g.weight_up) +
                               floats(g.weight_up.rows) + bytes(g.bias_down) + floats(g.bias_down.rows) +
                               bytes(g.bias_up) + floats(g.bias_up.rows);
    for (const LayerWeights& l : w.layers)
      t.hyper += floats((hp.n_experts - hp.top_k) * hp.experts_embedding_dim) + bytes(l.hyper.proc0) +
                 floats(l.hyper.proc0.rows) + bytes(l.hyper.proc2) + floats(l.hyper.proc2.rows) + generator;
  }
  t.head = row_bytes(w.tok_embd) + row_bytes(w.pos_embd) + floats(2 * d) + bytes(w.tok_embd);
  return t;
}

}  // namespace hmoe
