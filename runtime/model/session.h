// A session: one sequence over a shared, immutable Model. It checks what the caller
// passes, keeps the count of tokens in the context and runs the architecture's graph
// (graph.h), which holds the caches and activations. Sessions are not thread-safe
// themselves; use one per thread.
#pragma once
#include <cstdint>
#include <memory>

#include "runtime/model/graph.h"
#include "runtime/model/model.h"

namespace hmoe {

enum class HyperMode {
  Table,     // look HyperExperts up in the model's cache (the fast path)
  PerToken,  // run the hypernetwork for every token, as the authors' code does
  // Skip the HyperExpert: the cost of the same model as plain MoE. Its outputs are NOT
  // the model's; it exists as the baseline `hmoe bench` compares against.
  Off,
};

struct SessionOptions {
  int n_threads = 0;      // 0: the default (runtime/kernels/threads.h)
  HyperMode hyper_mode = HyperMode::Table;
  int64_t n_ctx = 0;      // 0: the model's n_positions
};

class Session {
 public:
  // Throws Error(InvalidArgument) for bad options (threads, context, mode).
  explicit Session(std::shared_ptr<const Model> model, const SessionOptions& opts = {});
  ~Session();

  // Runs `ids` after the tokens already in the context (the decoder's, for an
  // encoder-decoder). `logits` (if non-null) receives [n, vocab] when all_positions,
  // else [vocab] of the last token. Throws Error: InvalidArgument for ids outside the
  // vocabulary, ContextFull when they do not fit, BadFile when the model's weights prove
  // unusable (a HyperExpert first generated here overflows the cache's dtype; an
  // activation overflows to infinity or NaN). The context is unchanged when it throws.
  void eval(const int32_t* ids, int64_t n, float* logits, bool all_positions = false);

  // Encoder-decoder models: encodes `ids` (the input text's tokens, with its EOS) and
  // empties the decoder's context, so the next eval starts a new answer. Throws
  // Error(Unsupported) for decoder-only models, and as eval for bad ids or lengths.
  void encode(const int32_t* ids, int64_t n);
  bool encoder_decoder() const { return model_->arch().encoder_decoder(); }
  int64_t n_encoded() const { return graph_->n_encoded(); }

  int64_t n_past() const { return n_past_; }
  // The bytes of keys and values the next one-token eval reads from the caches (for
  // benchmarks: decode reads these beside the weights).
  uint64_t decode_kv_bytes() const { return graph_->decode_kv_bytes(n_past_); }
  int64_t n_ctx() const { return n_ctx_; }
  void reset() { n_past_ = 0; }
  // Forgets tokens after the first n (to rewind a generation).
  void truncate(int64_t n);
  const Model& model() const { return *model_; }
  const SessionOptions& options() const { return opts_; }
  const RoutingCounters& counters() const { return graph_->counters; }

 private:
  void check_ids(const int32_t* ids, int64_t n, int64_t room) const;
  void check_vocab(const int32_t* ids, int64_t n) const;

  std::shared_ptr<const Model> model_;
  SessionOptions opts_;
  int64_t n_ctx_ = 0;
  int64_t n_past_ = 0;
  std::unique_ptr<Graph> graph_;
};

}  // namespace hmoe
