// Fuzz target: GPT-2 byte-level BPE on arbitrary bytes, and built from arbitrary
// vocabularies and merges (a model file carries both, so both are untrusted).
//
// The first input byte picks the mode; the rest is its payload:
//   0  round trip through the seed tokenizer (data/vocab.json, data/merges.txt):
//        decode(encode(x)) == x with allow_invalid_utf8, with special tokens on and off;
//        the strict encode (the default) refuses x exactly when x is not valid UTF-8
//        (independent_utf8.h) and otherwise gives the same ids;
//   1  the 256 single-byte tokens plus fuzzed extra entries and merges, then a round trip;
//   2  an entirely fuzzed vocabulary and merges (mostly refused: the bytes are missing);
//      payload of 1 and 2: two bytes eos, bos (as int8), then lines: vocabulary entries up
//      to an empty line, merges up to the next empty line, the rest is text to encode;
//   3  vocab.json and merges.txt parsers: payload "JSON\0MERGES", then a tokenizer from
//      them when both parse.
// Refusals must be TokenizerError; ids must stay inside the vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/text/bpe_tokenizer.h"
#include "tests/fuzz/independent_utf8.h"
#include "runtime/text/byte_unicode.h"
#include "tools/common/vocab_files.h"

#ifndef HMOE_FUZZ_DATA_DIR
#error "the build defines HMOE_FUZZ_DATA_DIR (tests/fuzz/data)"
#endif

namespace {

using hmoe::text::BpeTokenizer;
using hmoe::text::EncodeOptions;
using hmoe::text::TokenizerError;

void check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_tokenizer: invariant violated: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

void round_trip(const BpeTokenizer& tok, std::string_view text) {
  for (bool special : {true, false}) {
    EncodeOptions eo;
    eo.allow_invalid_utf8 = true;
    eo.special_tokens = special;
    const std::vector<int32_t> ids = tok.encode(text, eo);
    for (int32_t id : ids) check(id >= 0 && id < tok.vocab_size(), "encode() gave an id outside the vocabulary", text);
    check(tok.decode(ids) == text, "decode(encode(x)) != x", text);

    eo.allow_invalid_utf8 = false;
    const bool valid = hmoe::test::is_valid_utf8(text);
    try {
      const std::vector<int32_t> strict = tok.encode(text, eo);
      check(valid, "the strict encode() accepted invalid UTF-8", text);
      check(strict == ids, "allow_invalid_utf8 changed the ids of valid UTF-8", text);
    } catch (const TokenizerError&) {
      check(!valid, "the strict encode() refused valid UTF-8", text);
    }
  }
}

const BpeTokenizer& seed_tokenizer() {
  static const std::unique_ptr<BpeTokenizer> tok =
      hmoe::text::load_gpt2_tokenizer(HMOE_FUZZ_DATA_DIR "/vocab.json", HMOE_FUZZ_DATA_DIR "/merges.txt");
  return *tok;
}

// Splits off the next line of `rest` (without its '\n'); false when `rest` is empty.
bool next_line(std::string_view* rest, std::string_view* line) {
  if (rest->empty()) return false;
  const size_t nl = rest->find('\n');
  *line = rest->substr(0, nl);
  *rest = nl == std::string_view::npos ? std::string_view() : rest->substr(nl + 1);
  return true;
}

void fuzzed_vocabulary(std::string_view payload, bool with_bytes) {
  if (payload.size() < 2) return;
  const int32_t eos = static_cast<int8_t>(payload[0]), bos = static_cast<int8_t>(payload[1]);
  std::string_view rest = payload.substr(2), line;
  std::vector<std::string> vocab, merges;
  if (with_bytes)
    for (int b = 0; b < 256; ++b) vocab.push_back(hmoe::text::bytes_to_piece(std::string(1, static_cast<char>(b))));
  while (next_line(&rest, &line) && !line.empty()) vocab.emplace_back(line);
  while (next_line(&rest, &line) && !line.empty()) merges.emplace_back(line);
  std::unique_ptr<BpeTokenizer> tok;
  try {
    tok = std::make_unique<BpeTokenizer>(std::move(vocab), merges, eos, bos);
  } catch (const TokenizerError&) {
    return;
  }
  round_trip(*tok, rest);
}

void tokenizer_files(std::string_view payload) {
  const size_t nul = payload.find('\0');
  const std::string_view json = payload.substr(0, nul);
  const std::string_view merges_txt = nul == std::string_view::npos ? std::string_view() : payload.substr(nul + 1);
  std::vector<std::string> vocab, merges;
  try {
    vocab = hmoe::text::parse_vocab_json(json);
  } catch (const TokenizerError&) {
    vocab.clear();
  }
  try {
    merges = hmoe::text::parse_merges_txt(merges_txt);
  } catch (const TokenizerError&) {
    return;
  }
  if (vocab.empty()) return;
  try {
    BpeTokenizer tok(std::move(vocab), merges);
    round_trip(tok, json);
  } catch (const TokenizerError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: round_trip(seed_tokenizer(), payload); break;
    case 1: fuzzed_vocabulary(payload, /*with_bytes=*/true); break;
    case 2: fuzzed_vocabulary(payload, /*with_bytes=*/false); break;
    default: tokenizer_files(payload); break;
  }
  return 0;
}
