// Repacks, at load, the q8_0 / q4_0 matrices the graph multiplies with into the kernels'
// layout (runtime/kernels/packed_int8.h), so decode streams weights at the memory's
// speed. The copies replace the file's bytes for the products: once they exist, the
// pages of the mapped file that held those matrices are released (a file mapping only;
// a model loaded from memory keeps its copy), and only the embedding rows a token looks
// up are read from the file again.
#pragma once
#include "runtime/kernels/packed_int8.h"
#include "runtime/model/weights.h"

namespace hmoe {
class ModelFile;

// Sets `packed` on every block-typed matrix view of `w`, the copies owned by `store`;
// releases the file's pages behind them when `file` is a mapping.
void pack_model_weights(ModelWeights& w, const HParams& hp, const ModelFile& file, kernels::PackedStore& store);

}  // namespace hmoe
