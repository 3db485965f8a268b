// Switch Transformer HyperMoE (the authors' switch_transformer): a T5 encoder-decoder
// whose sparse blocks (block i of a stack with i % step == 1) have a top-1 MoE
// feed-forward with an expert capacity, and a HyperExpert made by one generator per
// stack. Its tensor table and hyper-parameters are declared in switch_arch.cpp;
// docs/MODELS.md has the math.
#pragma once
#include <vector>

#include "runtime/model/weights.h"

namespace hmoe {

struct SwitchBlock {
  const float* ln_self = nullptr;   // [d] before self-attention
  kernels::MatrixView qkv;          // [3 * inner, d]: q, k, v rows stacked
  kernels::MatrixView attn_out;     // [d, inner]
  const float* ln_cross = nullptr;  // decoder: [d] before cross-attention
  kernels::MatrixView cross_q;      // decoder: [inner, d]
  kernels::MatrixView cross_kv;     // decoder: [2 * inner, d], k then v rows, applied to the encoder output
  kernels::MatrixView cross_out;    // decoder: [d, inner]
  const float* ln_ff = nullptr;     // [d] before the feed-forward
  bool sparse = false;
  kernels::MatrixView ffn_wi, ffn_wo;  // dense: [f, d], [d, f]
  MoeWeights moe;                      // sparse: router [N, d] (+ bias), experts [N, f, d], [N, d, f]
  HyperNetLayerWeights hyper;
  BakedHyperTables baked;
  int64_t slot = -1;  // sparse with a HyperExpert: its slot in ModelWeightsBase::hyper_slots
};

struct SwitchStack {
  const float* rel_bias = nullptr;  // [num_buckets, n_head], block 0's, shared by every block
  std::vector<SwitchBlock> blocks;
  const float* norm = nullptr;      // final RMS norm [d]
  HyperGeneratorWeights generator;  // one per stack
};

struct SwitchWeights : ModelWeightsBase {
  kernels::MatrixView tok_embd;  // [V, d], shared by both stacks (and the head when tied)
  kernels::MatrixView lm_head;   // [V, d]; when tied, the same view as tok_embd
  SwitchStack enc, dec;
};

// Block i of a stack is sparse iff step > 0 and i % step == 1 (the authors' rule, with
// its oddities: step 1 makes no block sparse).
inline bool switch_block_sparse(int64_t i, int64_t step) { return step > 0 && i % step == 1; }

const ArchSpec& switch_arch();

}  // namespace hmoe
