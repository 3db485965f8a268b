#include "runtime/model/weight_packing.h"

#include "formats/model_file.h"

namespace hmoe {

void pack_model_weights(ModelWeights& w, const HParams& hp, const ModelFile& file, kernels::PackedStore& store) {
  std::vector<std::pair<const void*, uint64_t>> copied;  // canonical bytes now repacked
  auto pack = [&](kernels::MatrixView& v, int64_t n) {
    if (!v.data) return;
    v = store.add(v, n);
    if (v.packed) copied.emplace_back(v.data, static_cast<uint64_t>(v.bytes()) * static_cast<uint64_t>(n));
  };
  pack(w.tok_embd, 1);  // the LM head; its embedding rows are still read from the file
  const int64_t N = hp.n_experts;
  for (LayerWeights& L : w.layers) {
    pack(L.qkv, 1);
    pack(L.attn_out, 1);
    pack(L.gate, 1);
    pack(L.fc, N);
    pack(L.proj, N);
    pack(L.hyper.proc0, 1);
    pack(L.hyper.proc2, 1);
    // Baked HyperExpert tables stay as they are: the cache's entries (the same numbers,
    // generated at load) are not repacked, and a baked model must give the unbaked
    // model's logits, so both take the same path. They are 0.65% of a token's bytes.
  }
  HyperGeneratorWeights& g = w.generator;
  pack(g.linear1, 1);
  pack(g.weight_down, 1);
  pack(g.weight_up, 1);
  pack(g.bias_down, 1);
  pack(g.bias_up, 1);
  if (file.mapped())
    for (const auto& c : copied) kernels::release_file_pages(c.first, c.second);
}

}  // namespace hmoe
