// Models with random weights and chosen dimensions, for benchmarks and tests: the
// runtime's speed does not depend on what the weights say, and tests need small models
// of every (N, k) without a checkpoint.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "formats/dtype.h"
#include "runtime/model/model.h"

namespace hmoe {

struct SyntheticSpec {
  Arch arch = Arch::Gpt2HyperMoE;
  int64_t d = 768;      // n_embd
  int64_t L = 12;       // n_layer
  int64_t N = 8;        // n_experts
  int64_t k = 2;        // top_k
  int64_t b = 64;       // adapter_dim
  int64_t H = 128;      // hypernetwork_bottleneck
  int64_t V = 50257;    // vocab_size
  int64_t P = 1024;     // n_positions
  int64_t heads = 0;    // n_head; 0: d / 64 (or 1 when 64 does not divide d)
  int64_t e = 128;      // experts_embedding_dim
  int64_t pd = 128;     // process_dim
  int64_t hin = 128;    // hypernet_input
  int64_t le = 10;      // layer_emb_dim
  bool hyper = true;    // use_hypernet
  DType dtype = DType::F32;  // of the matrices; vectors are always f32
  uint64_t seed = 1;
  float std = 0.02f;        // scale of the transformer's weights (GPT-2's init)
  float hyper_std = 0.02f;  // scale of the hypernetwork's; tests raise it so the adapter matters
  // Encoder-decoder (arch=switch) only; 0 picks the default noted.
  int64_t Ld = 0;       // n_decoder_layer (0: L)
  int64_t dkv = 0;      // d_kv (0: d / n_head)
  int64_t ff = 0;       // d_ff (0: 4 d)
  int64_t step = 2;     // encoder and decoder sparse step: blocks 1, 3, 5... are sparse
  int64_t cap = 64;     // expert_capacity
  bool tied = true;     // tie_word_embeddings

  int64_t n_head() const;
  // The file's hyper-parameters.
  HParams hparams() const;
  // The spec in parse_synthetic_spec()'s syntax, e.g. "d=768,L=12,N=8,k=2,b=64,H=128,V=50257,...".
  std::string to_string() const;
  // Bytes of the file write_synthetic_model() writes (roughly: the tensors).
  uint64_t file_bytes() const;
};

// Parses "key=value,..." with keys arch (gpt2, switch) d L N k b H V P heads e pd hin le
// hyper seed dtype std hyper_std, and for switch Ld dkv ff step cap tied; absent keys keep
// the defaults above (arch=switch: k=1, P=512 unless given). Throws std::invalid_argument naming the
// bad item, or the first hyper-parameter out of range.
SyntheticSpec parse_synthetic_spec(const std::string& text);

// Writes a .hmoe file with random weights (deterministic for a seed). Streams one matrix
// at a time, so even a multi-GB model needs little memory besides the file.
void write_synthetic_model(const SyntheticSpec& spec, const std::string& path);

// Writes the model to a temporary file in `dir` (default: /dev/shm when writable, else
// the system temp dir), loads it and removes the file's name: the mapping keeps the
// data, and nothing is left behind when the process ends.
std::shared_ptr<const Model> make_synthetic_model(const SyntheticSpec& spec, const ModelOptions& opts = {},
                                                  const std::string& dir = "");

}  // namespace hmoe
