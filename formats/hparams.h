// The hyper-parameters a .hmoe header records (table HParams of formats/hmoe.fbs),
// declared once: the struct, the reader, the writer, `hmoe inspect`, the C API's
// hmoe_model_get_hparam and the synthetic-model spec all walk this one list. Which of
// them an architecture uses, and the ranges it accepts, its declaration says
// (runtime/model/arch.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hmoe {

// X(kind, name, default, what it is). Kinds: Int (stored unsigned 32-bit), SInt (signed
// 32-bit), Float, Bool. The names are the schema's; the defaults are the schema's.
#define HMOE_HPARAMS(X)                                                                                      \
  X(Int, vocab_size, 0, "tokens in the vocabulary (rows of the token embedding)")                            \
  X(Int, n_positions, 0, "longest context (GPT-2: rows of the position embedding)")                          \
  X(Int, n_embd, 0, "width of the residual stream (d_model)")                                                \
  X(Int, n_layer, 0, "blocks (encoder-decoder: the encoder's)")                                              \
  X(Int, n_head, 0, "attention heads")                                                                       \
  X(Float, layer_norm_epsilon, 1e-5f, "epsilon of the layer norms")                                          \
  X(Int, n_experts, 0, "experts per MoE layer (N)")                                                          \
  X(Int, top_k, 0, "experts each token selects (k)")                                                         \
  X(Bool, use_hypernet, false, "HyperMoE: a HyperExpert per MoE layer; false: plain MoE")                    \
  X(Int, experts_embedding_dim, 0, "width of the expert embeddings (e)")                                     \
  X(Int, process_dim, 0, "hidden width of the embedding-processing MLP")                                     \
  X(Int, hypernet_input, 0, "output width of the embedding-processing MLP")                                  \
  X(Int, hypernetwork_bottleneck, 0, "hidden width of the hypernetwork (H)")                                 \
  X(Int, layer_emb_dim, 0, "width of the layer embedding the hypernetwork reads")                            \
  X(Int, adapter_dim, 0, "bottleneck of a HyperExpert (b)")                                                  \
  X(Int, d_kv, 0, "per-head width (0: n_embd / n_head)")                                                     \
  X(Int, d_ff, 0, "feed-forward width (0: 4 * n_embd)")                                                      \
  X(Int, n_decoder_layer, 0, "decoder blocks of an encoder-decoder")                                         \
  X(Int, encoder_sparse_step, 0, "encoder block i is sparse iff step > 0 and i % step == 1")                 \
  X(Int, decoder_sparse_step, 0, "decoder block i is sparse iff step > 0 and i % step == 1")                 \
  X(Int, expert_capacity, 0, "tokens one expert takes per call and sequence")                                \
  X(Bool, router_bias, false, "the router has a bias")                                                       \
  X(Int, relative_attention_num_buckets, 0, "buckets of the relative position bias")                         \
  X(Int, relative_attention_max_distance, 0, "distance where the position buckets saturate")                 \
  X(Bool, tie_word_embeddings, false, "the LM head is the token embedding")                                  \
  X(SInt, decoder_start_token_id, -1, "first token of every decoder sequence")

#define HMOE_HPARAM_TYPE_Int int64_t
#define HMOE_HPARAM_TYPE_SInt int64_t
#define HMOE_HPARAM_TYPE_Float float
#define HMOE_HPARAM_TYPE_Bool bool

struct HParams {
#define HMOE_HPARAM_MEMBER(kind, name, def, doc) HMOE_HPARAM_TYPE_##kind name = def;
  HMOE_HPARAMS(HMOE_HPARAM_MEMBER)
#undef HMOE_HPARAM_MEMBER

  int64_t head_dim() const { return d_kv ? d_kv : (n_head ? n_embd / n_head : 0); }
  int64_t ffn_dim() const { return d_ff ? d_ff : 4 * n_embd; }
};

enum class HParamKind { Int, SInt, Float, Bool };

// One entry of the list, for code that walks every hyper-parameter by name.
struct HParamField {
  const char* name;
  HParamKind kind;
  const char* doc;
  double (*get)(const HParams&);
  void (*set)(HParams&, double);
};

// Every hyper-parameter, in schema order.
const std::vector<HParamField>& hparam_fields();
// nullptr when no hyper-parameter has that name.
const HParamField* find_hparam(const std::string& name);
// The value as `hmoe inspect` and JSON print it: "768", "1e-06", "true".
std::string hparam_value_text(const HParamField& f, const HParams& hp);

}  // namespace hmoe
