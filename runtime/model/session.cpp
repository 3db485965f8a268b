#include "runtime/model/session.h"

#include <string>

#include "runtime/kernels/threads.h"
#include "runtime/model/arch.h"

namespace hmoe {

namespace {
[[noreturn]] void invalid(const std::string& what) { throw Error(Status::InvalidArgument, what); }
}  // namespace

void Graph::encode(const int32_t*, int64_t) {
  throw Error(Status::Unsupported, "this model is decoder-only: it has no encoder to encode an input with");
}

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& opts)
    : model_(std::move(model)), opts_(opts) {
  if (!model_) invalid("session needs a model");
  const HParams& hp = model_->hparams();
  kernels::resolve_threads(opts.n_threads, "n_threads");  // refuses a count outside [0, kMaxThreads]
  if (opts.n_ctx < 0 || opts.n_ctx > hp.n_positions)
    invalid("n_ctx " + std::to_string(opts.n_ctx) + " is outside [0, n_positions=" + std::to_string(hp.n_positions) +
            "]");
  if (opts.hyper_mode == HyperMode::PerToken && hp.use_hypernet && !model_->has_hypernetwork())
    invalid("per-token HyperExperts need the hypernetwork, which this baked model lacks");
  n_ctx_ = opts.n_ctx ? opts.n_ctx : hp.n_positions;
  SessionOptions resolved = opts;
  resolved.n_ctx = n_ctx_;
  graph_ = model_->arch().make_graph(model_, resolved);
}

Session::~Session() = default;

void Session::truncate(int64_t n) {
  if (n < 0 || n > n_past_)
    invalid("truncate to " + std::to_string(n) + " tokens, but the context holds " + std::to_string(n_past_));
  n_past_ = n;
}

void Session::check_ids(const int32_t* ids, int64_t T, int64_t room) const {
  if (T <= 0 || !ids) invalid("eval needs at least one token");
  if (T > room)
    throw Error(Status::ContextFull, "context full: " + std::to_string(n_ctx_ - room) + " tokens + " +
                                         std::to_string(T) + " new exceed the context of " + std::to_string(n_ctx_));
  check_vocab(ids, T);
}

void Session::check_vocab(const int32_t* ids, int64_t T) const {
  const int64_t V = model_->hparams().vocab_size;
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= V)
      invalid("token id " + std::to_string(ids[t]) + " at position " + std::to_string(t) +
              " is outside the vocabulary [0, " + std::to_string(V) + ")");
}

void Session::eval(const int32_t* ids, int64_t T, float* logits, bool all_positions) {
  check_ids(ids, T, n_ctx_ - n_past_);
  kernels::ThreadScope threads(opts_.n_threads);  // the default, at most the processors
  graph_->eval(ids, T, n_past_, logits, all_positions);
  n_past_ += T;
  graph_->counters.tokens += static_cast<uint64_t>(T);
}

void Session::encode(const int32_t* ids, int64_t T) {
  if (!encoder_decoder()) graph_->encode(ids, T);  // throws Unsupported
  if (T <= 0 || !ids) invalid("encode needs at least one token");
  const int64_t limit = model_->hparams().n_positions;
  if (T > limit)
    throw Error(Status::ContextFull, "the input is " + std::to_string(T) + " tokens, more than the " +
                                         std::to_string(limit) + " the model's encoder takes (n_positions)");
  check_vocab(ids, T);
  kernels::ThreadScope threads(opts_.n_threads);  // the default, at most the processors
  graph_->encode(ids, T);
  n_past_ = 0;
}

}  // namespace hmoe
