// Fuzz target: a .hmoe file from a stranger, all the way from bytes to one token's logits.
//
//   1. the reader (ModelFile::from_memory): prefix, FlatBuffers verification, tensor table;
//   2. the tokenizer the header carries (load_model_tokenizer), and a round trip through it;
//   3. the model (Model::load_from_memory): hyper-parameter checks, tensor shapes and dtypes
//      against them, the HyperExpert cache (precomputed, on demand, or evicting: see
//      model_options());
//   4. one token through the forward pass, through the cache and through the per-token
//      hypernetwork.
// Each stage may refuse the input only with the exception its interface documents
// (FormatError, TokenizerError, std::invalid_argument; a full context is hmoe::Error with
// Status::ContextFull). Anything else that escapes (a
// std::length_error, std::bad_alloc from a size read off the file, ...) is a finding,
// like a crash or a sanitizer report.
//
// Every stage's cost is bounded by the input size: each dimension the forward pass
// allocates for is backed by weights in the file, and the context is capped below.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "quant/block_formats.h"
#include "runtime/model/model.h"
#include "runtime/model/session.h"
#include "runtime/text/model_tokenizer.h"

namespace {

// Tokens of context the fuzzer's sessions get: enough for a prompt of two and one step.
constexpr int64_t kFuzzContext = 3;

// The HyperExpert cache's three ways of working, picked by the input's size so that
// mutations reach each: every pattern generated at load (1 MiB holds the seeds' all,
// while a file claiming thousands of patterns falls back to on demand); on demand by
// choice; on demand in a budget of a few entries, evicting (or refused when one entry
// does not fit).
// The NaN/Inf weight check is on for half the sizes too: off, non-finite weights reach
// the kernels, which must stay well-defined with them.
hmoe::ModelOptions model_options(size_t input_size) {
  hmoe::ModelOptions mo;
  mo.n_threads = 1;
  mo.check_weights = (input_size / 3) % 2 == 0;
  switch (input_size % 3) {
    case 0: mo.hyper_cache_bytes = 1u << 20; break;
    case 1:
      mo.hyper_cache_bytes = 1u << 20;
      mo.hyper_precompute = false;
      break;
    default: mo.hyper_cache_bytes = 4u << 10; break;
  }
  return mo;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_model_loader: invariant violated: %s\n", what);
    std::abort();
  }
}

void exercise_tokenizer(const hmoe::ModelFile& file) {
  std::unique_ptr<hmoe::text::BpeTokenizer> tok;
  try {
    tok = hmoe::text::load_model_tokenizer(file);
  } catch (const hmoe::text::TokenizerError&) {
    return;
  }
  if (!tok) return;
  hmoe::text::EncodeOptions eo;
  eo.allow_invalid_utf8 = true;
  const std::string text = "In the beginning \xff<|endoftext|> 42";
  const std::vector<int32_t> ids = tok->encode(text, eo);
  for (int32_t id : ids) check(id >= 0 && id < tok->vocab_size(), "encode() returned an id outside the vocabulary");
  check(tok->decode(ids) == text, "a tokenizer loaded from a model does not round-trip");
}

void exercise_session(const std::shared_ptr<const hmoe::Model>& model, hmoe::HyperMode mode) {
  const hmoe::HParams& hp = model->hparams();
  hmoe::SessionOptions so;
  so.n_threads = 1;
  so.hyper_mode = mode;
  so.n_ctx = std::min<int64_t>(hp.n_positions, kFuzzContext);
  hmoe::Session s(model, so);
  std::vector<float> logits(static_cast<size_t>(hp.vocab_size));
  const int32_t prompt[2] = {0, static_cast<int32_t>(hp.vocab_size - 1)};
  const int64_t n = std::min<int64_t>(2, s.n_ctx());
  // An encoder-decoder decodes an encoded input: the same two tokens (capacity binds
  // wherever a file sets it below two).
  if (s.encoder_decoder()) s.encode(prompt, std::min<int64_t>(2, hp.n_positions));
  s.eval(prompt, n, logits.data());
  check(s.n_past() == n, "eval() did not advance the context");
  if (s.n_past() < s.n_ctx()) {
    const int32_t next = static_cast<int32_t>(hp.vocab_size / 2);
    s.eval(&next, 1, logits.data());
  }
  // The context is full now (or was after one token): one more must be refused cleanly.
  while (s.n_past() < s.n_ctx()) s.eval(prompt, 1, nullptr);
  bool refused = false;
  try {
    s.eval(prompt, 1, logits.data());
  } catch (const hmoe::Error& e) {
    refused = e.status() == hmoe::Status::ContextFull;
  }
  check(refused, "eval() past the end of the context was not refused as a full context");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<hmoe::ModelFile> file;
  try {
    file = hmoe::ModelFile::from_memory(data, size);
  } catch (const hmoe::FormatError&) {
    return 0;
  }
  exercise_tokenizer(*file);
  file.reset();

  std::shared_ptr<const hmoe::Model> model;
  try {
    model = hmoe::Model::load_from_memory(data, size, model_options(size));
  } catch (const hmoe::FormatError&) {
    return 0;
  } catch (const hmoe::quant::EncodeError& e) {
    // A std::invalid_argument too, but it says "bad options" where the file is at fault.
    std::fprintf(stderr, "fuzz_model_loader: Model::load threw EncodeError: %s\n", e.what());
    std::abort();
  } catch (const std::invalid_argument&) {  // e.g. a budget that cannot hold one HyperExpert
    return 0;
  }
  // A model that loads may still prove unusable at eval: the HyperExpert of an expert set
  // first met there (on demand, or per token) may overflow the cache's dtype, which
  // Session::eval documents as a FormatError (tests/BAD_INPUTS.md, row F21).
  try {
    exercise_session(model, hmoe::HyperMode::Table);
    if (model->has_hypernetwork()) exercise_session(model, hmoe::HyperMode::PerToken);
  } catch (const hmoe::FormatError&) {
    return 0;
  }
  return 0;
}
