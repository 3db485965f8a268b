// Repacks, at load, the q8_0 / q4_0 matrices the graph multiplies with into the kernels'
// layout (runtime/kernels/packed_int8.h), so decode streams weights at the memory's
// speed. The copies replace the file's bytes for the products: once they exist, the
// pages of the mapped file that held those matrices are released (a file mapping only;
// a model loaded from memory keeps its copy), and only the embedding rows a token looks
// up are read from the file again.
//
// Which matrices: every one the architecture declares (arch.h), for any architecture,
// except embeddings that are only looked up by rows (an untied token embedding, GPT-2's
// position embedding). Baked HyperExpert tables are repacked too: the cache's entries
// carry repacked copies of their own (hyper_expert.h), and a baked model must give the
// unbaked model's logits, so both take the same path.
#pragma once
#include "runtime/kernels/packed_int8.h"
#include "runtime/model/weights.h"

namespace hmoe {
class ModelFile;

// Sets `packed` on every block-typed matrix view of `w` that the graph multiplies with,
// the copies owned by `store`; releases the file's pages behind them when `file` is a
// mapping.
void pack_model_weights(const ModelFile& file, const ArchSpec& arch, const HParams& hp, ModelWeightsBase& w,
                        kernels::PackedStore& store);

}  // namespace hmoe
