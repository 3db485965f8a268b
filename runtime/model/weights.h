// Typed views of a model's tensors, taken in place from the mapped file after each
// tensor's dtype and shape were checked against the hyper-parameters.
#pragma once
#include <vector>

#include "runtime/kernels/linear.h"
#include "runtime/model/hparams.h"

namespace hmoe {
class ModelFile;

struct HyperNetLayerWeights {
  const float* expert_embd = nullptr;  // [N, e]
  kernels::MatrixView proc0;           // [pd, e]
  const float* proc0_bias = nullptr;
  kernels::MatrixView proc2;           // [hin, pd]
  const float* proc2_bias = nullptr;
};

// Baked HyperExpert tables of one layer (file flag hyper_baked), [C(N,k), ...].
struct BakedHyperTables {
  kernels::MatrixView down;   // first pattern's [b, d]; slice(p, C) for pattern p
  const float* down_bias = nullptr;  // [C, b]
  kernels::MatrixView up;     // [d, b]
  const float* up_bias = nullptr;    // [C, d]
  bool present() const { return down.data != nullptr; }
};

struct LayerWeights {
  const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
  kernels::MatrixView qkv;    // [3d, d]
  const float* qkv_bias;
  kernels::MatrixView attn_out;  // [d, d]
  const float* attn_out_bias;
  kernels::MatrixView gate;   // [N, d]
  kernels::MatrixView fc;     // expert 0 of [N, 4d, d]; slice(j, N)
  const float* fc_bias;       // [N, 4d]
  kernels::MatrixView proj;   // expert 0 of [N, d, 4d]
  const float* proj_bias;     // [N, d]
  HyperNetLayerWeights hyper;
  BakedHyperTables baked;
};

// The shared ParameterGenerator.
struct HyperGeneratorWeights {
  const float* layer_embd = nullptr;  // [L, le]
  kernels::MatrixView linear1;        // [H, hin + le]
  const float* linear1_bias = nullptr;
  kernels::MatrixView weight_down;    // [d*b, H]
  const float* weight_down_bias = nullptr;
  kernels::MatrixView weight_up;      // [b*d, H]
  const float* weight_up_bias = nullptr;
  kernels::MatrixView bias_down;      // [b, H]
  const float* bias_down_bias = nullptr;
  kernels::MatrixView bias_up;        // [d, H]
  const float* bias_up_bias = nullptr;
  bool present() const { return linear1.data != nullptr; }
};

struct ModelWeights {
  kernels::MatrixView tok_embd;  // [V, d], also the LM head
  kernels::MatrixView pos_embd;  // [P, d]
  std::vector<LayerWeights> layers;
  const float *lnf_w, *lnf_b;
  HyperGeneratorWeights generator;
  bool hyper_baked = false;

  // Throws FormatError naming the tensor whose dtype or shape disagrees.
  static ModelWeights from_file(const ModelFile& file, const HParams& hp);
};

}  // namespace hmoe
