// Typed views of a model's tensors, taken in place from the mapped file after each
// tensor's dtype and shape were checked against its architecture's declaration
// (runtime/model/arch.h). These are the pieces the architectures share; each builds its
// own weights struct from them (runtime/model/gpt2/gpt2_arch.h, ...).
#pragma once
#include <string>
#include <vector>

#include "runtime/kernels/linear.h"
#include "runtime/model/arch.h"

namespace hmoe {

// A router and N experts stacked [N, out, in]; the views are expert 0 (slice(j, N)).
struct MoeWeights {
  kernels::MatrixView gate;         // [N, d]
  const float* gate_bias = nullptr; // [N] or none
  kernels::MatrixView fc;           // [N, f, d]
  const float* fc_bias = nullptr;   // [N, f] or none
  kernels::MatrixView proj;         // [N, d, f]
  const float* proj_bias = nullptr; // [N, d] or none
};

// The per-layer part of the hypernetwork: the expert embeddings and the MLP that
// processes their sum.
struct HyperNetLayerWeights {
  const float* expert_embd = nullptr;  // [N, e]
  kernels::MatrixView proc0;           // [pd, e]
  const float* proc0_bias = nullptr;
  kernels::MatrixView proc2;           // [hin, pd]
  const float* proc2_bias = nullptr;
};

// Baked HyperExpert tables of one layer (file flag hyper_baked), [C, ...] with C the
// patterns per layer.
struct BakedHyperTables {
  kernels::MatrixView down;          // first pattern's [b, d]; slice(p, C) for pattern p
  const float* down_bias = nullptr;  // [C, b]
  kernels::MatrixView up;            // [d, b]
  const float* up_bias = nullptr;    // [C, d]
  bool present() const { return down.data != nullptr; }
};

// A ParameterGenerator: shared by the MoE layers of a model (GPT-2) or of a stack (Switch).
struct HyperGeneratorWeights {
  const float* layer_embd = nullptr;  // [layers, le]
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

// One MoE layer with a HyperExpert: where the cache finds what it generates from (or the
// baked tables it reads). The graph addresses HyperExperts by slot index.
struct HyperSlot {
  const HyperNetLayerWeights* layer = nullptr;      // nullptr when baked
  const HyperGeneratorWeights* generator = nullptr; // nullptr when baked
  int64_t layer_embd_row = 0;  // its row of the generator's layer embedding
  const BakedHyperTables* baked = nullptr;          // nullptr unless baked
  std::string name;            // for messages: "layer 3", "decoder block 5"
  bool at_decode = true;       // applied when decoding a token (false: an encoder's)
};

// The architecture-independent dims of the HyperExperts.
struct HyperDims {
  int64_t n_experts = 0, top_k = 0;  // N, k: C(N, k) patterns per slot
  int64_t d = 0, b = 0;              // n_embd, adapter_dim
  int64_t e = 0, pd = 0, hin = 0, H = 0, le = 0;
};

// What every architecture's weights carry besides its own fields.
struct ModelWeightsBase {
  virtual ~ModelWeightsBase() = default;
  bool hyper_baked = false;
  HyperDims hyper_dims;
  std::vector<HyperSlot> hyper_slots;  // empty for plain MoE
  // The first MoE layer's stacked expert matrix, bound: its dtype is the precision
  // HyperExperts are kept in.
  const kernels::MatrixView* first_experts = nullptr;
  DType experts_dtype() const { return first_experts ? first_experts->dtype : DType::F32; }
};

// Binds the declared tensors of `file` into `w`: every declared tensor must be present
// with its shape and a dtype of its class, and the file may hold no other tensor.
// Throws FormatError naming the file and the tensor.
void bind_weights(const ModelFile& file, const ArchSpec& arch, const HParams& hp, ModelWeightsBase& w);

}  // namespace hmoe
