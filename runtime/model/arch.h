// How an architecture declares itself, once: the hyper-parameters it uses and accepts,
// every tensor of its files (name, shape in terms of the hyper-parameters, role), and the
// graph that runs it. Loading, the synthetic-model writer, the quantizer's defaults,
// baking, decode-traffic accounting, `hmoe inspect` and the C API all read this one
// declaration, so adding a tensor to an architecture is a change in one place (plus the
// converter's map from checkpoint names). docs/ARCHITECTURE.md shows where each
// architecture's declaration lives.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats/model_header.h"
#include "runtime/kernels/linear.h"

namespace hmoe {

class ModelFile;
class Model;
// A model's weights, bound in place to the mapped file (weights.h): each architecture's
// own struct derives from it (its graph knows which one it made).
struct ModelWeightsBase;
class Graph;
struct SessionOptions;

// What a tensor is for; the tools derive their defaults from it.
enum class TensorRole : uint8_t {
  Embedding,     // token (or position) embedding rows; GPT-2's tok_embd is also the LM head
  LmHead,        // an untied output head
  Weight,        // a matrix of the transformer: attention, experts, dense feed-forward
  Router,        // a router's matrix: its top-k choice is sensitive, so kept f32 by default
  Norm,          // a norm's weights (initialised to 1 by synthetic models)
  Bias,          // a bias or another small vector of the transformer
  PositionBias,  // a relative position bias table
  Hypernet,      // the hypernetwork: expert and layer embeddings, processing MLPs, generator
  HyperTable,    // baked HyperExpert tables
};
const char* tensor_role_name(TensorRole r);

// What one decode step (one new token) reads of a tensor: the figure `hmoe bench`
// compares with the memory's bandwidth.
enum class DecodeRead : uint8_t {
  All,       // the whole tensor
  OneRow,    // one row: an embedding looked up (add All through `lm_head` when it is the head)
  TopK,      // top_k of the stacked experts' matrices [N, out, in]
  PerToken,  // only when the hypernetwork runs per token (HyperMode::PerToken)
  UnselectedRows,  // per token, as PerToken, but only the N - top_k rows of the experts a
                   // token did not select (the expert embeddings)
  OneEntry,  // one pattern's entry of a baked table [C, ...]
  None,      // not read at decode (the encoder, cross-attention keys/values)
};

struct TensorDecl {
  std::string name;
  std::vector<int64_t> shape;
  bool matrix = true;  // any float or block dtype; false: a vector, always f32
  TensorRole role = TensorRole::Weight;
  DecodeRead decode = DecodeRead::All;
  bool lm_head = false;  // also read whole as the LM head (a tied embedding)
  int64_t decode_reads = 1;  // times a decode step reads it (a generator shared by layers)
};

// Receives each declared tensor in table order, with where the loader binds it. A sink
// that only lists tensors ignores the destinations.
class TensorSink {
 public:
  virtual ~TensorSink() = default;
  virtual void matrix(const TensorDecl& d, kernels::MatrixView* dst) = 0;
  virtual void vector(const TensorDecl& d, const float** dst) = 0;
};

class ArchSpec {
 public:
  virtual ~ArchSpec() = default;
  virtual Arch id() const = 0;
  virtual const char* name() const = 0;  // "gpt2-hypermoe"
  // The hyper-parameters it uses, in the order `hmoe inspect` lists them.
  virtual std::vector<std::string> hparam_names() const = 0;
  // Throws FormatError naming the first value it does not accept.
  virtual void validate(const HParams& hp) const = 0;
  // Every tensor of a file with these hyper-parameters (`baked`: the HyperExpert tables
  // instead of the hypernetwork), in table order, bound into `w` (from new_weights()).
  virtual void for_each_tensor(const HParams& hp, bool baked, ModelWeightsBase& w, TensorSink& sink) const = 0;
  virtual std::unique_ptr<ModelWeightsBase> new_weights(const HParams& hp) const = 0;
  // The graph that runs a session of `model` (of this architecture).
  virtual std::unique_ptr<Graph> make_graph(std::shared_ptr<const Model> model, const SessionOptions& o) const = 0;
  // Whether it is an encoder-decoder (sessions encode an input before decoding).
  virtual bool encoder_decoder() const { return false; }

  // The tensors alone, for tools (synthetic models, the quantizer, baking, inspect).
  std::vector<TensorDecl> tensors(const HParams& hp, bool baked) const;
  // validate(), and every hyper-parameter the architecture does not use at its default
  // (a value there means the file is not what its architecture says). Throws FormatError.
  void check(const HParams& hp) const;
};

// The declaration of `a`; throws FormatError naming an architecture this build lacks.
const ArchSpec& arch_spec(Arch a);
// Every architecture this build runs.
std::vector<const ArchSpec*> all_archs();

// The one check every reader of a model file goes through (Model::load, the quantizer,
// baking, inspect): a known architecture, hyper-parameters it accepts, and exactly its
// tensors (none missing, none unknown) with the declared shapes and dtype classes.
// Throws FormatError naming the file and the first problem.
void check_model_file(const ModelFile& file);

}  // namespace hmoe
