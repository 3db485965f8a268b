// The activations of one forward pass, each buffer named for the one thing it holds
// (rows are the tokens of the call). Sized for the largest call so far; a session owns
// one set, so evaluating allocates nothing once warm.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/model/ops/hyper_block.h"
#include "runtime/model/ops/moe.h"
#include "runtime/model/ops/router.h"

namespace hmoe {

struct ActivationDims {
  int64_t d = 0;            // residual width (n_embd)
  int64_t qkv = 0;          // width of the fused query/key/value projection
  int64_t inner = 0;        // heads x head_dim: attention's output before its projection
  int64_t n_experts = 0, top_k = 0;
};

struct Activations {
  std::vector<float> residual;       // [T, d] the residual stream
  std::vector<float> normed;         // [T, d] the normed input of the current sub-layer
  std::vector<float> qkv;            // [T, qkv] queries, keys and values
  std::vector<float> heads;          // [T, inner] attention's heads, side by side
  std::vector<float> sublayer;       // [T, d] a sub-layer's output before it joins the residual
  std::vector<float> moe_out;        // [T, d] the experts' weighted outputs plus the HyperExpert
  std::vector<float> router_logits;  // [T, n_experts]
  Routing routing;                   // experts, gates and selection patterns per token
  MoeScratch experts;                // the experts' gathered inputs and hidden layers
  HyperBlock hyper;                  // the HyperExperts' grouping and scratch

  void reserve(int64_t T, const ActivationDims& dims);
  int64_t capacity() const { return capacity_; }

 private:
  int64_t capacity_ = 0;
};

}  // namespace hmoe
