// hypermoe: a thin C++17 layer over the C API (hypermoe.h). Header-only, so it adds
// no symbols to the library and works with the shared or the static one alike.
//
// - RAII: Model and Session free their handles; both are move-only.
// - Failures throw hypermoe::Error, carrying the C status and the library's message.
// - Views: text in std::string_view, token ids in hypermoe::Span<const int32_t> (built
//   from a std::vector, a std::array, an initializer list or a pointer and a size).
// - A generate() callback may throw: generation stops and the exception is rethrown
//   to the caller once the C call has returned, so it never crosses the C boundary.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "hypermoe.h"

namespace hypermoe {

class Error : public std::runtime_error {
 public:
  Error(hmoe_status status, const std::string& message)
      : std::runtime_error(std::string(hmoe_status_name(status)) + ": " + message), status_(status), message_(message) {}
  hmoe_status status() const noexcept { return status_; }
  // hmoe_last_error()'s text: "<function>: <reason>".
  const std::string& message() const noexcept { return message_; }
  // The reason alone, for a message to a user ("cannot open model file 'x': ...").
  std::string reason() const {
    const size_t colon = message_.find(": ");
    return message_.rfind("hmoe_", 0) == 0 && colon != std::string::npos ? message_.substr(colon + 2) : message_;
  }

 private:
  hmoe_status status_;
  std::string message_;
};

namespace detail {
inline void check(hmoe_status status) {
  if (status != HMOE_OK) throw Error(status, hmoe_last_error());
}
}  // namespace detail

// A non-owning view of contiguous elements (std::span arrives in C++20).
template <class T>
class Span {
 public:
  constexpr Span() noexcept = default;
  constexpr Span(T* data, size_t size) noexcept : data_(data), size_(size) {}
  // Any contiguous container with data() and size() whose elements convert: vector,
  // array, string. Temporaries are fine for the length of a call.
  template <class C, class = std::enable_if_t<
                         !std::is_same_v<std::decay_t<C>, Span> &&
                         std::is_convertible_v<std::remove_pointer_t<decltype(std::declval<C&>().data())> (*)[],
                                               T (*)[]>>>
  constexpr Span(C&& c) noexcept : data_(c.data()), size_(c.size()) {}  // NOLINT: implicit by design
  // For call arguments such as session.eval({1, 2, 3}): the list lives until the call
  // returns, which is as long as such a Span is used.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
  template <class U = T, class = std::enable_if_t<std::is_const_v<U>>>
  constexpr Span(std::initializer_list<std::remove_const_t<T>> list) noexcept
      : data_(list.begin()), size_(list.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  constexpr T* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T& operator[](size_t i) const noexcept { return data_[i]; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }
  std::vector<std::remove_const_t<T>> to_vector() const { return {begin(), end()}; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

inline std::string_view version() { return hmoe_version(); }
inline std::string_view simd_target() { return hmoe_simd_target(); }

// Params with the library's defaults; change only what you need.
struct ModelParams : hmoe_model_params {
  ModelParams() : hmoe_model_params(hmoe_model_default_params()) {}
};
struct SamplingParams : hmoe_sampling_params {
  SamplingParams() : hmoe_sampling_params(hmoe_sampling_default_params()) {}
  // Greedy: temperature 0, no repetition penalty (pure argmax, lowest id on ties).
  static SamplingParams greedy() {
    SamplingParams p;
    p.temperature = 0.0f;
    p.repetition_penalty = 1.0f;
    return p;
  }
  // Throws Error (HMOE_ERR_INVALID_ARGUMENT) naming a field out of range.
  void check() const { detail::check(hmoe_sampling_params_check(this)); }
};
struct SessionParams : hmoe_session_params {
  SessionParams() : hmoe_session_params(hmoe_session_default_params()) {}
};

using ModelInfo = hmoe_model_info;
using ModelLoadStats = hmoe_model_load_stats;
using SessionInfo = hmoe_session_info;
using HyperCacheStats = hmoe_hyper_cache_stats;

class Model {
 public:
  static Model load(const std::string& path, const ModelParams& params = {}) {
    hmoe_model* m = nullptr;
    detail::check(hmoe_model_load(path.c_str(), &params, &m));
    return Model(m);
  }
  // The bytes are copied: `data` may be freed once this returns.
  static Model load_from_memory(const void* data, size_t size, const ModelParams& params = {}) {
    hmoe_model* m = nullptr;
    detail::check(hmoe_model_load_from_memory(data, size, &params, &m));
    return Model(m);
  }

  ModelInfo info() const {
    ModelInfo i;
    detail::check(hmoe_model_get_info(get(), &i));
    return i;
  }
  // "gpt2-hypermoe", "switch-hypermoe".
  std::string architecture() const { return hmoe_model_architecture(get()); }
  // The architecture's hyper-parameters, by name, in `hmoe inspect`'s order.
  std::vector<std::pair<std::string, double>> hparams() const {
    std::vector<std::pair<std::string, double>> out;
    const char* name = nullptr;
    double value = 0;
    for (size_t i = 0; hmoe_model_get_hparam(get(), i, &name, &value) == HMOE_OK; ++i) out.emplace_back(name, value);
    return out;
  }
  HyperCacheStats hyper_cache_stats() const {
    HyperCacheStats s;
    detail::check(hmoe_model_get_hyper_cache_stats(get(), &s));
    return s;
  }
  ModelLoadStats load_stats() const {
    ModelLoadStats s;
    detail::check(hmoe_model_get_load_stats(get(), &s));
    return s;
  }
  std::string metadata(const std::string& key) const {
    size_t n = 0;
    const hmoe_status st = hmoe_model_get_metadata(get(), key.c_str(), nullptr, 0, &n);
    if (st != HMOE_ERR_BUFFER_TOO_SMALL) detail::check(st);
    std::string value(n + 1, '\0');
    detail::check(hmoe_model_get_metadata(get(), key.c_str(), value.data(), value.size(), &n));
    value.resize(n);
    return value;
  }

  std::vector<int32_t> tokenize(std::string_view text, uint32_t flags = 0) const {
    size_t n = 0;
    const hmoe_status st = hmoe_tokenize(get(), text.data(), text.size(), flags, nullptr, 0, &n);
    if (st != HMOE_ERR_BUFFER_TOO_SMALL) detail::check(st);
    std::vector<int32_t> ids(n);
    detail::check(hmoe_tokenize(get(), text.data(), text.size(), flags, ids.data(), ids.size(), &n));
    return ids;
  }
  // The token's spelling in the vocabulary ("\u0120the" for " the"); see hmoe_token_text.
  std::string token_text(int32_t id) const {
    size_t n = 0;
    const hmoe_status st = hmoe_token_text(get(), id, nullptr, 0, &n);
    if (st != HMOE_ERR_BUFFER_TOO_SMALL) detail::check(st);
    std::string text(n + 1, '\0');
    detail::check(hmoe_token_text(get(), id, text.data(), text.size(), &n));
    text.resize(n);
    return text;
  }
  std::string detokenize(Span<const int32_t> ids, uint32_t flags = 0) const {
    size_t n = 0;
    const hmoe_status st = hmoe_detokenize(get(), ids.data(), ids.size(), flags, nullptr, 0, &n);
    if (st != HMOE_ERR_BUFFER_TOO_SMALL) detail::check(st);
    std::string text(n + 1, '\0');
    detail::check(hmoe_detokenize(get(), ids.data(), ids.size(), flags, text.data(), text.size(), &n));
    text.resize(n);
    return text;
  }

  const hmoe_model* get() const noexcept { return handle_.get(); }

 private:
  struct Free {
    void operator()(hmoe_model* m) const noexcept { hmoe_model_free(m); }
  };
  explicit Model(hmoe_model* m) : handle_(m) {}
  std::unique_ptr<hmoe_model, Free> handle_;
};

// hmoe_generate_params, field by field (hypermoe.h says what each does).
struct GenerateOptions {
  int32_t max_tokens = 64;
  bool stop_at_eos = true;
  // Called with each token and its bytes (possibly part of a UTF-8 character; empty
  // without a tokenizer). Return false to stop. May throw: see the file comment.
  std::function<bool(int32_t token, std::string_view piece)> on_token;
  bool ignore_eos = false;
  std::vector<std::string> stop_strings;
  bool context_shift = false;
  int32_t n_keep = 0;
  const volatile std::sig_atomic_t* cancel = nullptr;
};

struct Generation {
  std::vector<int32_t> tokens;
  hmoe_stop_reason stop_reason = HMOE_STOP_MAX_TOKENS;
};

class Session {
 public:
  explicit Session(const Model& model, const SessionParams& params = {}) {
    hmoe_session* s = nullptr;
    detail::check(hmoe_session_create(model.get(), &params, &s));
    handle_.reset(s);
    n_vocab_ = info().n_vocab;
  }

  // Runs ids after the context; logits() then holds the last token's.
  void eval(Span<const int32_t> ids) { detail::check(hmoe_session_eval(get(), ids.data(), ids.size())); }
  // Encoder-decoder models: encodes an input; the decoder then answers it (hmoe_session_encode).
  void encode(Span<const int32_t> ids) { detail::check(hmoe_session_encode(get(), ids.data(), ids.size())); }
  // As eval(), returning every position's logits, [ids.size() * n_vocab] row-major.
  std::vector<float> eval_all_logits(Span<const int32_t> ids) {
    std::vector<float> out(ids.size() * static_cast<size_t>(n_vocab_));
    detail::check(hmoe_session_eval_all_logits(get(), ids.data(), ids.size(), out.data(), out.size()));
    return out;
  }
  // Valid until the session's next call.
  Span<const float> logits() const {
    const float* p = nullptr;
    size_t n = 0;
    detail::check(hmoe_session_get_logits(get(), &p, &n));
    return {p, n};
  }
  int32_t sample() {
    int32_t t = -1;
    detail::check(hmoe_session_sample(get(), &t));
    return t;
  }
  void set_sampling(const SamplingParams& params) { detail::check(hmoe_session_set_sampling(get(), &params)); }
  void reset() { detail::check(hmoe_session_reset(get())); }
  void truncate(size_t n_keep) { detail::check(hmoe_session_truncate(get(), n_keep)); }

  SessionInfo info() const {
    SessionInfo i;
    detail::check(hmoe_session_get_info(get(), &i));
    return i;
  }
  std::vector<int32_t> tokens() const {
    size_t n = 0;
    const hmoe_status st = hmoe_session_get_tokens(get(), nullptr, 0, &n);
    if (st != HMOE_ERR_BUFFER_TOO_SMALL) detail::check(st);
    std::vector<int32_t> ids(n);
    detail::check(hmoe_session_get_tokens(get(), ids.data(), ids.size(), &n));
    return ids;
  }

  // Evaluates `prompt` (empty: continue) and samples with the session's sampling params.
  Generation generate(Span<const int32_t> prompt, const GenerateOptions& options = {}) {
    struct Relay {
      const GenerateOptions* options;
      std::exception_ptr error;
      static bool call(void* self, int32_t token, const char* piece, size_t len) noexcept {
        auto* r = static_cast<Relay*>(self);
        try {
          return r->options->on_token(token, std::string_view(piece ? piece : "", len));
        } catch (...) {
          r->error = std::current_exception();
          return false;
        }
      }
    } relay{&options, nullptr};
    hmoe_generate_params p = hmoe_generate_default_params();
    p.max_tokens = options.max_tokens;
    p.stop_at_eos = options.stop_at_eos;
    p.ignore_eos = options.ignore_eos;
    std::vector<const char*> stops;
    for (const std::string& stop : options.stop_strings) stops.push_back(stop.c_str());
    p.stop_strings = stops.data();
    p.n_stop_strings = stops.size();
    p.context_shift = options.context_shift;
    p.n_keep = options.n_keep;
    p.cancel = options.cancel;
    if (options.on_token) {
      p.on_token = &Relay::call;
      p.user_data = &relay;
    }
    Generation g;
    g.tokens.resize(options.max_tokens > 0 ? static_cast<size_t>(options.max_tokens) : 0);
    hmoe_generate_result r{};
    const hmoe_status st =
        hmoe_generate(get(), prompt.data(), prompt.size(), &p, g.tokens.data(), g.tokens.size(), &r);
    if (relay.error) std::rethrow_exception(relay.error);
    detail::check(st);
    g.tokens.resize(r.n_tokens);
    g.stop_reason = r.stop_reason;
    return g;
  }

  hmoe_session* get() const noexcept { return handle_.get(); }

 private:
  struct Free {
    void operator()(hmoe_session* s) const noexcept { hmoe_session_free(s); }
  };
  std::unique_ptr<hmoe_session, Free> handle_;
  int32_t n_vocab_ = 0;
};

}  // namespace hypermoe
