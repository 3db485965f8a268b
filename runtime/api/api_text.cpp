// Text <-> token ids through the tokenizer the model file carries (runtime/text/).
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/api/api_error.h"
#include "runtime/api/api_handles.h"

using hmoe::api::ApiError;
using hmoe::api::guarded;
using hmoe::api::require;

namespace {

const hmoe::text::BpeTokenizer& tokenizer_of(const hmoe_model* model) {
  require(model, "model");
  if (!model->tokenizer)
    throw ApiError(HMOE_ERR_UNSUPPORTED, "the model '" + model->file().source() +
                                             "' has no tokenizer: it takes token ids only");
  return *model->tokenizer;
}

void check_flags(uint32_t flags, uint32_t known, const char* call) {
  if ((flags & ~known) == 0) return;
  char bits[16];
  std::snprintf(bits, sizeof bits, "0x%x", flags & ~known);
  throw ApiError(HMOE_ERR_INVALID_ARGUMENT, std::string("unknown ") + call + " flags " + bits);
}

}  // namespace

extern "C" {

hmoe_status hmoe_tokenize(const hmoe_model* model, const char* text, size_t text_len, uint32_t flags, int32_t* ids,
                          size_t capacity, size_t* out_n) {
  return guarded(__func__, [&] {
    const hmoe::text::BpeTokenizer& tok = tokenizer_of(model);
    require(out_n, "out_n");
    if (text_len > 0) require(text, "text");
    if (capacity > 0) require(ids, "ids");
    check_flags(flags, HMOE_TOKENIZE_SPECIAL | HMOE_TOKENIZE_ALLOW_INVALID_UTF8, "tokenize");
    hmoe::text::EncodeOptions options;
    options.special_tokens = (flags & HMOE_TOKENIZE_SPECIAL) != 0;
    options.allow_invalid_utf8 = (flags & HMOE_TOKENIZE_ALLOW_INVALID_UTF8) != 0;
    const std::vector<int32_t> result = tok.encode(std::string_view(text ? text : "", text_len), options);
    *out_n = result.size();
    if (result.size() > capacity)
      throw ApiError(HMOE_ERR_BUFFER_TOO_SMALL, "the text is " + std::to_string(result.size()) +
                                                    " tokens, the buffer holds " + std::to_string(capacity));
    if (!result.empty()) std::memcpy(ids, result.data(), result.size() * sizeof(int32_t));
  });
}

hmoe_status hmoe_detokenize(const hmoe_model* model, const int32_t* ids, size_t n_ids, uint32_t flags, char* buf,
                            size_t capacity, size_t* out_len) {
  return guarded(__func__, [&] {
    const hmoe::text::BpeTokenizer& tok = tokenizer_of(model);
    require(out_len, "out_len");
    if (n_ids > 0) require(ids, "ids");
    if (capacity > 0) require(buf, "buf");
    check_flags(flags, HMOE_DETOKENIZE_SKIP_SPECIAL, "detokenize");
    hmoe::text::DecodeOptions options;
    options.skip_special_tokens = (flags & HMOE_DETOKENIZE_SKIP_SPECIAL) != 0;
    const std::string bytes = tok.decode(ids, n_ids, options);
    *out_len = bytes.size();
    if (bytes.size() + 1 > capacity)
      throw ApiError(HMOE_ERR_BUFFER_TOO_SMALL, "the text is " + std::to_string(bytes.size()) +
                                                    " bytes plus a NUL, the buffer holds " + std::to_string(capacity));
    std::memcpy(buf, bytes.c_str(), bytes.size() + 1);
  });
}

hmoe_status hmoe_token_text(const hmoe_model* model, int32_t id, char* buf, size_t capacity, size_t* out_len) {
  return guarded(__func__, [&] {
    const hmoe::text::BpeTokenizer& tok = tokenizer_of(model);
    require(out_len, "out_len");
    if (capacity > 0) require(buf, "buf");
    const std::string& text = tok.piece(id);  // refuses an id outside the vocabulary
    *out_len = text.size();
    if (text.size() + 1 > capacity)
      throw ApiError(HMOE_ERR_BUFFER_TOO_SMALL, "token " + std::to_string(id) + " is " + std::to_string(text.size()) +
                                                    " bytes plus a NUL, the buffer holds " + std::to_string(capacity));
    std::memcpy(buf, text.c_str(), text.size() + 1);
  });
}

}  // extern "C"
