#include "tools/common/decode_traffic.h"

#include "runtime/model/arch.h"
#include "runtime/model/hyper/hyper_cache.h"

namespace hmoe {

DecodeTraffic decode_weight_traffic(const Model& model, HyperMode mode) {
  const HParams& hp = model.hparams();
  const ModelFile& file = model.file();
  const bool hyper_on = hp.use_hypernet && mode != HyperMode::Off;
  DecodeTraffic t;
  for (const TensorDecl& d : model.arch().tensors(hp, model.weights().hyper_baked)) {
    const uint64_t bytes = file.get(d.name).size;
    const uint64_t rows = d.shape.size() >= 2 ? static_cast<uint64_t>(d.shape[d.shape.size() - 2]) : 1;
    const uint64_t slices = static_cast<uint64_t>(d.shape.front());  // stacked tensors: [n, ...]
    const uint64_t reads = static_cast<uint64_t>(d.decode_reads);
    switch (d.decode) {
      case DecodeRead::All:
        (d.role == TensorRole::Embedding || d.role == TensorRole::LmHead ? t.head : t.dense) += bytes * reads;
        break;
      case DecodeRead::OneRow: t.head += bytes / (d.shape.size() >= 2 ? rows : 1); break;
      case DecodeRead::TopK: t.experts += bytes / slices * static_cast<uint64_t>(hp.top_k); break;
      case DecodeRead::PerToken:
        if (hyper_on && mode == HyperMode::PerToken) t.hyper += bytes * reads;
        break;
      case DecodeRead::UnselectedRows:
        if (hyper_on && mode == HyperMode::PerToken)
          t.hyper += bytes / slices * static_cast<uint64_t>(hp.n_experts - hp.top_k);
        break;
      case DecodeRead::OneEntry:  // baked tables: counted as the cache's entries below
      case DecodeRead::None: break;
    }
    if (d.lm_head) t.head += bytes;
  }
  // Table mode reads one cache entry (or one baked table entry) per MoE layer.
  if (hyper_on && mode == HyperMode::Table && model.hyper_cache()) {
    const HyperCacheStats s = model.hyper_cache()->stats();
    t.hyper = s.layers * s.entry_bytes;
  }
  return t;
}

}  // namespace hmoe
