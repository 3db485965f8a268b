#include "runtime/model/weight_packing.h"

#include <utility>
#include <vector>

#include "formats/model_file.h"

namespace hmoe {

namespace {

// Walks the architecture's tensor table over the weights already bound, repacking the
// views in place (the table's destinations are the bound views themselves).
class PackingSink : public TensorSink {
 public:
  explicit PackingSink(kernels::PackedStore& store) : store_(store) {}

  void matrix(const TensorDecl& d, kernels::MatrixView* dst) override {
    if (!dst || !dst->data) return;
    if (d.role == TensorRole::Embedding && !d.lm_head) return;  // rows looked up, never multiplied
    const int64_t n = d.shape.size() == 3 ? d.shape[0] : 1;      // stacked [n, rows, cols]
    *dst = store_.add(*dst, n);
    if (dst->packed) copied_.emplace_back(dst->data, static_cast<uint64_t>(dst->bytes()) * static_cast<uint64_t>(n));
  }
  void vector(const TensorDecl&, const float**) override {}

  const std::vector<std::pair<const void*, uint64_t>>& copied() const { return copied_; }

 private:
  kernels::PackedStore& store_;
  std::vector<std::pair<const void*, uint64_t>> copied_;  // canonical bytes now repacked
};

}  // namespace

void pack_model_weights(const ModelFile& file, const ArchSpec& arch, const HParams& hp, ModelWeightsBase& w,
                        kernels::PackedStore& store) {
  PackingSink sink(store);
  arch.for_each_tensor(hp, file.header().hyper_baked, w, sink);
  // A tied head's embedding rows are still looked up in the file: its pages come back
  // one row at a time, as a lookup touches them.
  if (file.mapped())
    for (const auto& c : sink.copied()) kernels::release_file_pages(c.first, c.second);
}

}  // namespace hmoe
