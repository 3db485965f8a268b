// Baking: every (layer, selection pattern) HyperExpert computed ahead of time and stored
// in the model file as blk.L.hyper.table.{down,down_bias,up,up_bias} (formats/TENSORS.md),
// so a device can run the model without the hypernetwork, whose tensors are dropped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "formats/dtype.h"
#include "runtime/model/model.h"

namespace hmoe {

struct BakedTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

// The four table tensors of every layer, matrices in `dtype` (biases f32), entries in
// pattern_index order. Encoded exactly as the runtime's cache encodes them, so a baked
// file gives the same logits as its source run with the cache in that dtype.
// Throws std::invalid_argument when the model has no hypernetwork (plain MoE or
// already baked) or `dtype` cannot store the tables.
std::vector<BakedTensor> bake_hyper_tables(const Model& model, DType dtype);

struct BakeSummary {
  uint64_t in_bytes = 0;       // file sizes
  uint64_t out_bytes = 0;
  uint64_t dropped_bytes = 0;  // hypernetwork tensors
  uint64_t added_bytes = 0;    // tables
  uint64_t patterns = 0;       // per layer
  DType table_dtype = DType::F32;
  std::string to_string() const;  // one line for the CLI
};

// Writes `model`'s file to `out_path` with `tables` added, the hypernetwork tensors (role
// Hypernet in its architecture's table) dropped and hyper_baked set; every other tensor and the header are copied as they are.
BakeSummary write_baked_model(const Model& model, const std::string& out_path, const std::vector<BakedTensor>& tables);
// The tables of `model` itself, in `table_dtype`.
BakeSummary write_baked_model(const Model& model, const std::string& out_path, DType table_dtype);

// Bakes a file: the tables come from `source_path`'s hypernetwork, encoded in the dtype
// the runtime's cache would use for `target_path` (its experts' dtype); the rest of the
// output is `target_path`'s. `hmoe quantize --bake-hyper IN OUT` passes (IN, OUT, OUT):
// the tables are generated at IN's precision and quantized once, rather than generated
// by an already-quantized hypernetwork. `out_path` may be `target_path`.
BakeSummary bake_model_file(const std::string& source_path, const std::string& target_path,
                            const std::string& out_path);

}  // namespace hmoe
