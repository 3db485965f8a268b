// Fuzz target: SentencePiece tokenizers (runtime/text/sentencepiece_tokenizer.h) on
// arbitrary text, and built from arbitrary model bytes, since a model file carries the
// model and anyone can write one.
//
// The first input byte picks the mode; the rest is its payload:
//   0  text through the two seed models (data/spm_bytes.model: byte fallback and no
//      normalization; data/spm_rules.model with 50 sentinels): ids inside the vocabulary;
//      the strict encode refuses exactly the text that is not UTF-8 (independent_utf8.h)
//      and otherwise gives the same ids; both decodings work; and spm_bytes, which is
//      reversible, decodes valid UTF-8 without special tokens' text or U+2581 (its space
//      mark) back to the same bytes;
//   1  the payload as a serialized model: refused with TokenizerError, or it loads and
//      encodes and decodes a probe text;
//   2  the payload as normalization rules (a precompiled_charsmap): refused by the model
//      check, or every lookup the library would make on the probe text and on the payload
//      stays inside it (an independent bounds-checked lookup, darts_oracle.h), and
//      spm_rules.model carrying it loads and encodes the probe.
// Refusals must be TokenizerError. libsentencepiece itself is not instrumented: a read it
// makes out of bounds shows as a crash at most, hence the oracle of mode 2.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/text/sentencepiece_model_check.h"
#include "runtime/text/sentencepiece_tokenizer.h"
#include "tests/fuzz/independent_utf8.h"
#include "tests/tokenizer/darts_oracle.h"
#include "tools/common/vocab_files.h"

#ifndef HMOE_FUZZ_DATA_DIR
#error "the build defines HMOE_FUZZ_DATA_DIR (tests/fuzz/data)"
#endif

namespace {

using hmoe::text::EncodeOptions;
using hmoe::text::SentencePieceTokenizer;
using hmoe::text::TokenizerError;

void check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_sentencepiece: invariant violated: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

std::vector<std::string> sentinels(int n) {
  std::vector<std::string> out;
  for (int k = n - 1; k >= 0; --k) out.push_back("<extra_id_" + std::to_string(k) + ">");
  return out;
}

const std::string& model_bytes(const char* name) {
  static const std::string bytes = hmoe::text::read_text_file(HMOE_FUZZ_DATA_DIR "/spm_bytes.model");
  static const std::string rules = hmoe::text::read_text_file(HMOE_FUZZ_DATA_DIR "/spm_rules.model");
  return std::string(name) == "bytes" ? bytes : rules;
}

const SentencePieceTokenizer& bytes_model() {
  static const SentencePieceTokenizer tok(model_bytes("bytes"), {}, 1, -1, 0);
  return tok;
}

const SentencePieceTokenizer& rules_model() {
  static const SentencePieceTokenizer tok(model_bytes("rules"), sentinels(50), 1, -1, 0);
  return tok;
}

// Every byte value, and characters the rules of spm_rules rewrite.
const std::string& probe() {
  static const std::string p = [] {
    std::string s = "A\xEF\xBC\xA1\xEF\xBC\xA2 A\xCC\x81 \xE2\x84\xA6 \xEF\xAC\x81\xE3\x80\x80x </s><extra_id_0> ";
    for (int c = 0; c < 256; ++c) s += static_cast<char>(c);
    return s;
  }();
  return p;
}

void exercise(const SentencePieceTokenizer& tok, std::string_view text, bool reversible) {
  EncodeOptions eo;
  eo.allow_invalid_utf8 = true;
  const std::vector<int32_t> ids = tok.encode(text, eo);
  for (int32_t id : ids) check(id >= 0 && id < tok.vocab_size(), "encode() gave an id outside the vocabulary", text);
  hmoe::text::DecodeOptions skip;
  skip.skip_special_tokens = true;
  tok.decode(ids);
  tok.decode(ids, skip);
  for (int32_t id : ids) tok.token_bytes(id);

  eo.allow_invalid_utf8 = false;
  const bool valid = hmoe::test::is_valid_utf8(text);
  try {
    check(tok.encode(text, eo) == ids, "allow_invalid_utf8 changed the ids of valid UTF-8", text);
    check(valid, "the strict encode() accepted invalid UTF-8", text);
  } catch (const TokenizerError&) {
    check(!valid, "the strict encode() refused valid UTF-8", text);
  }

  if (reversible && valid && text.find("\xE2\x96\x81") == std::string_view::npos) {
    eo.special_tokens = false;
    eo.add_bos_eos = false;
    const std::vector<int32_t> plain = tok.encode(text, eo);
    check(tok.decode(plain) == text, "a reversible model did not decode valid UTF-8 back", text);
  }
}

void fuzzed_model(std::string_view payload) {
  std::unique_ptr<SentencePieceTokenizer> tok;
  try {
    tok = std::make_unique<SentencePieceTokenizer>(payload, sentinels(2), -1, -1, -1);
  } catch (const TokenizerError&) {
    return;
  }
  exercise(*tok, probe(), false);
}

void fuzzed_charsmap(std::string_view blob) {
  try {
    hmoe::text::check_sentencepiece_charsmap(blob);
  } catch (const TokenizerError&) {
    return;
  }
  check(hmoe::test::charsmap_lookup_problem(blob, probe()).empty(), "an accepted charsmap leaves its buffers", blob);
  check(hmoe::test::charsmap_lookup_problem(blob, blob).empty(), "an accepted charsmap leaves its buffers", blob);
  // A normalizer spec appended to the model merges into its own: the charsmap is replaced.
  std::string spec = "\x12";  // field 2 (precompiled_charsmap), length-delimited
  for (uint64_t n = blob.size(); ; n >>= 7) {
    if (n < 0x80) {
      spec += static_cast<char>(n);
      break;
    }
    spec += static_cast<char>((n & 0x7F) | 0x80);
  }
  spec += blob;
  std::string model = model_bytes("rules") + "\x1A";  // field 3 (normalizer_spec)
  for (uint64_t n = spec.size(); ; n >>= 7) {
    if (n < 0x80) {
      model += static_cast<char>(n);
      break;
    }
    model += static_cast<char>((n & 0x7F) | 0x80);
  }
  model += spec;
  try {
    SentencePieceTokenizer tok(model, {}, 1, -1, 0);
    exercise(tok, probe(), false);
    exercise(tok, blob, false);
  } catch (const TokenizerError&) {
    // e.g. the library's self-test of the model against its new rules
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      exercise(bytes_model(), payload, true);
      exercise(rules_model(), payload, false);
      break;
    case 1: fuzzed_model(payload); break;
    default: fuzzed_charsmap(payload); break;
  }
  return 0;
}
