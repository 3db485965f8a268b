// GPT-2 HyperMoE (the authors' gpt-2-moe): GPT-2 blocks whose MLP is an MoE layer with a
// HyperExpert, one ParameterGenerator for the whole model. Its tensor table and
// hyper-parameters are declared in gpt2_arch.cpp; docs/MODELS.md has the math.
#pragma once
#include <vector>

#include "runtime/model/weights.h"

namespace hmoe {

struct Gpt2Layer {
  const float *ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
  kernels::MatrixView qkv;  // [3d, d]
  const float* qkv_bias = nullptr;
  kernels::MatrixView attn_out;  // [d, d]
  const float* attn_out_bias = nullptr;
  MoeWeights moe;  // gate [N, d], fc [N, 4d, d], proj [N, d, 4d], with biases
  HyperNetLayerWeights hyper;
  BakedHyperTables baked;
};

struct Gpt2Weights : ModelWeightsBase {
  kernels::MatrixView tok_embd;  // [V, d], also the LM head
  kernels::MatrixView pos_embd;  // [P, d]
  std::vector<Gpt2Layer> layers;
  const float *lnf_w = nullptr, *lnf_b = nullptr;
  HyperGeneratorWeights generator;
};

const ArchSpec& gpt2_arch();

}  // namespace hmoe
