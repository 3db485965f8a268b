// SentencePieceTokenizer on models python3-sentencepiece trains in the test setup
// (make_spm_models.py, into HMOE_SPM_DIR): T5's conventions on top of the library, the
// interface's contract, refusals; and the model check on hand-made and corrupted
// normalization tries. Ids against python3-sentencepiece on a corpus: spm_agreement.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "formats/model_file.h"
#include "runtime/text/model_tokenizer.h"
#include "runtime/text/sentencepiece_model_check.h"
#include "runtime/text/sentencepiece_tokenizer.h"
#include "tools/common/vocab_files.h"
#include "tests/tokenizer/darts_oracle.h"
#include "tests/tokenizer/proto_edit.h"

#ifndef HMOE_SPM_DIR
#error "the build defines HMOE_SPM_DIR (where make_spm_models.py writes its models)"
#endif

using namespace hmoe;
using namespace hmoe::test;
using text::SentencePieceTokenizer;
using text::TokenizerError;
using Ids = std::vector<int32_t>;

namespace {

const std::string& model_bytes(const char* name) {
  static std::string t5like = text::read_text_file(std::string(HMOE_SPM_DIR) + "/t5like.model");
  static std::string bytefb = text::read_text_file(std::string(HMOE_SPM_DIR) + "/bytefb.model");
  return std::string(name) == "t5like" ? t5like : bytefb;
}

std::vector<std::string> sentinels(int n) {
  std::vector<std::string> out;
  for (int k = n - 1; k >= 0; --k) out.push_back("<extra_id_" + std::to_string(k) + ">");
  return out;
}

// T5's conventions: pad 0, eos 1, no bos, 100 sentinels after the 4000 pieces.
const SentencePieceTokenizer& t5() {
  static SentencePieceTokenizer tok(model_bytes("t5like"), sentinels(100), 1, -1, 0);
  return tok;
}

text::EncodeOptions plain() {
  text::EncodeOptions o;
  o.add_bos_eos = false;
  return o;
}

}  // namespace

TEST_CASE("a T5-like model: sizes, markers and specials") {
  const auto& t = t5();
  CHECK(t.model_pieces() == 4000);
  CHECK(t.vocab_size() == 4100);
  CHECK(t.eos_id() == 1);
  CHECK(t.pad_id() == 0);
  CHECK(t.bos_id() == -1);
  CHECK(t.unk_id() == 2);
  CHECK(std::string(t.kind_name()) == "SENTENCEPIECE");
  CHECK(t.piece(0) == "<pad>");
  CHECK(t.piece(1) == "</s>");
  CHECK(t.piece(2) == "<unk>");
  CHECK(t.piece(4000) == "<extra_id_99>");
  CHECK(t.piece(4099) == "<extra_id_0>");
  CHECK(t.piece_to_id("<extra_id_5>") == 4094);
  CHECK(t.piece_to_id("</s>") == 1);
  CHECK(t.piece_to_id("<unk>") == 2);
  CHECK(t.piece_to_id("no such piece at all") == -1);
  const int32_t the = t.piece_to_id("\xE2\x96\x81the");  // "▁the"
  REQUIRE(the > 2);
  CHECK(t.piece(the) == "\xE2\x96\x81the");
  CHECK(t.token_bytes(the) == " the");
  CHECK(t.token_bytes(1) == "</s>");
  CHECK(t.token_bytes(4099) == "<extra_id_0>");
  CHECK(!t.is_special(the));
  for (int32_t id : {0, 1, 2, 4000, 4050, 4099}) CHECK(t.is_special(id));
  CHECK(!t.is_special(-1));
  CHECK(!t.is_special(4100));
  REQUIRE(t.special_ids().size() == 103);
  CHECK(t.special_ids().front() == 0);
  CHECK(t.special_ids().back() == 4099);
}

TEST_CASE("T5 encoding: </s> after every text, sentinels and markers from their text") {
  const auto& t = t5();
  CHECK(t.encode("") == Ids{1});
  const Ids hello = t.encode("Hello world", plain());
  REQUIRE(!hello.empty());
  Ids with_eos = hello;
  with_eos.push_back(1);
  CHECK(t.encode("Hello world") == with_eos);
  // A special token's text becomes its id; each side is encoded on its own (and, being
  // the start of a stretch, gets sentencepiece's leading-space mark).
  const Ids a = t.encode("a", plain()), b = t.encode("b", plain());
  Ids want = a;
  want.push_back(4099);
  want.insert(want.end(), b.begin(), b.end());
  want.push_back(1);
  CHECK(t.encode("a<extra_id_0>b") == want);
  CHECK(t.encode("a <extra_id_0> b") == want);  // the model collapses the spaces anyway
  CHECK(t.encode("</s><pad><unk>", plain()) == Ids{1, 0, 2});
  // Off: the text is text, as sentencepiece's own encoder sees it.
  text::EncodeOptions off = plain();
  off.special_tokens = false;
  const Ids literal = t.encode("</s>", off);
  CHECK(literal.size() > 1);
  for (int32_t id : literal) CHECK(id != 1);
  // Appending to a buffer.
  Ids buf{7};
  t.encode("x", &buf);
  CHECK(buf.front() == 7);
  CHECK(buf.back() == 1);
}

TEST_CASE("T5 decoding: specials written or skipped, no space clean-up") {
  const auto& t = t5();
  const Ids ids = t.encode("Hello, world .");
  CHECK(t.decode(ids) == "Hello, world .</s>");
  text::DecodeOptions skip;
  skip.skip_special_tokens = true;
  CHECK(t.decode(ids, skip) == "Hello, world .");  // " ." kept: no clean-up of spaces
  const Ids s = t.encode("a <extra_id_0> b");
  CHECK(t.decode(s) == "a<extra_id_0>b</s>");
  CHECK(t.decode(s, skip) == "a b");
  CHECK(t.decode(Ids{}) == "");
  CHECK(t.decode(Ids{0, 0, 1}, skip) == "");
  // The unknown piece is special: its text, or nothing.
  const Ids u = t.encode("x \xEE\x80\x80 y", plain());  // U+E000, a private-use character
  CHECK(std::find(u.begin(), u.end(), 2) != u.end());
  // [▁x, ▁, <unk>, ▁y]: each stretch decodes on its own, losing its leading space.
  CHECK(t.decode(u) == "x <unk>y");
  CHECK(t.decode(u, skip) == "x  y");
  CHECK_THROWS_WITH_AS(t.decode(Ids{5, 4100}), doctest::Contains("token id 4100 at position 1"), TokenizerError);
  CHECK_THROWS_AS(t.decode(Ids{-1}), TokenizerError);
  CHECK_THROWS_AS(t.piece(4100), TokenizerError);
  CHECK_THROWS_AS(t.token_bytes(-2), TokenizerError);
}

TEST_CASE("invalid UTF-8: refused by default, unknown when allowed") {
  const auto& t = t5();
  CHECK_THROWS_WITH_AS(t.encode("abc\xff" "def"), doctest::Contains("byte 0xFF at offset 3"), TokenizerError);
  text::EncodeOptions allow;
  allow.allow_invalid_utf8 = true;
  const Ids ids = t.encode("abc\xff" "def", allow);
  CHECK(std::find(ids.begin(), ids.end(), 2) != ids.end());
}

TEST_CASE("byte fallback, a bos, user-defined symbols") {
  // bytefb: pad 0, eos 1, unk 2, bos 3 `<s>`, byte pieces, no normalization.
  SentencePieceTokenizer t(model_bytes("bytefb"), {}, 1, 3, 0);
  const Ids ids = t.encode("x\xF0\x9F\xA6\xA9y");  // a flamingo, unknown to the model
  REQUIRE(ids.size() >= 4);
  CHECK(ids.front() == 3);
  CHECK(ids.back() == 1);
  std::string bytes;
  for (int32_t id : ids)
    if (!t.is_special(id)) bytes += t.token_bytes(id);
  CHECK(bytes.find("\xF0\x9F\xA6\xA9") != std::string::npos);  // the byte pieces' bytes
  text::DecodeOptions skip;
  skip.skip_special_tokens = true;
  CHECK(t.decode(ids, skip) == "x\xF0\x9F\xA6\xA9y");
  CHECK(t.decode(ids) == "<s>x\xF0\x9F\xA6\xA9y</s>");
  CHECK(t.decode(t.encode("  two  spaces"), skip) == "  two  spaces");  // identity: spaces kept
  // <sep> is a user-defined piece: sentencepiece matches it, it is not special.
  const int32_t sep = t.piece_to_id("<sep>");
  REQUIRE(sep > 3);
  CHECK(!t.is_special(sep));
  const Ids with_sep = t.encode("a<sep>b", plain());
  CHECK(std::find(with_sep.begin(), with_sep.end(), sep) != with_sep.end());
}

TEST_CASE("encode and decode from several threads at once") {
  const auto& t = t5();
  const std::string text = "The quick brown fox, 1234 times — über naïve café. 你好 <extra_id_3> end";
  const Ids want = t.encode(text);
  const std::string back = t.decode(want);
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      int good = 1;
      for (int i = 0; i < 200; ++i) good &= t.encode(text) == want && t.decode(want) == back;
      ok[k] = good;
    });
  for (auto& th : threads) th.join();
  CHECK(ok == std::vector<int>{1, 1, 1, 1});
}

TEST_CASE("tokenizer settings that are refused") {
  const std::string& m = model_bytes("t5like");
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer(m, {}, 4000, -1, 0), doctest::Contains("eos_id 4000 is outside"),
                       TokenizerError);
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer(m, {"<a>"}, 1, -2, 0), doctest::Contains("bos_id -2"), TokenizerError);
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer(m, {"<a>", ""}, 1, -1, 0), doctest::Contains("added token 4001 is empty"),
                       TokenizerError);
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer(m, {"</s>"}, 1, -1, 0),
                       doctest::Contains("added token 4000 \"</s>\" is already token 1"), TokenizerError);
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer(m, {"<a>", "<a>"}, 1, -1, 0),
                       doctest::Contains("is already token 4000"), TokenizerError);
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer("", {}, 1, -1, 0), doctest::Contains("empty"), TokenizerError);
}

// --- the model check ---

namespace {

std::string replace_charsmap(const std::string& model, const std::string& blob) {
  const std::string spec = proto_set(proto_get(model, kSpNormalizerSpec), bytes_field(kSpNormalizerCharsmap, blob));
  return proto_set(model, bytes_field(kSpNormalizerSpec, spec));
}

// A hand-made double-array trie (the layout sentencepiece_model_check.cpp describes): a
// chain of rules matching "a", "aa", "aaa", ... each replaced by "x".
struct Chain {
  int rules = 3;
  bool loop = false;          // the last rule's node points back at the first
  bool outside = false;       // the last rule's node lies past the array
  uint32_t leaf_value = 0;    // where the rules' replacement starts
  std::string strings = std::string("x\0", 2);
  std::string blob() const {
    const uint32_t a = 'a';
    // Unused units get a label no byte reaching them can have, as darts-clone's builder does.
    std::vector<uint32_t> units(256 * (rules + 2));
    for (size_t p = 0; p < units.size(); ++p) units[p] = (p & 0xFF) ^ 1;
    auto unit = [](uint32_t label, bool leaf, uint32_t offset) { return offset << 10 | (leaf ? 1u << 8 : 0) | label; };
    units[0] = unit(0, false, 256);  // the root's children start at 256
    for (int i = 0; i < rules; ++i) {
      const uint32_t base = 256 * (i + 1), at = base ^ a;
      uint32_t child = 256 * (i + 2);
      if (i == rules - 1 && loop) child = 256;
      if (i == rules - 1 && outside) child = 256 * (rules + 2);
      units[at] = unit(a, true, at ^ child);
      if (child < units.size()) units[child] = 1u << 31 | leaf_value;
    }
    std::string out(4, '\0');
    const uint32_t bytes = static_cast<uint32_t>(units.size() * 4);
    std::memcpy(&out[0], &bytes, 4);
    out.append(reinterpret_cast<const char*>(units.data()), bytes);
    return out + strings;
  }
};

}  // namespace

TEST_CASE("normalization tries: what the check accepts and refuses") {
  const std::string text(40, 'a');
  for (int rules : {1, 3, 32}) {
    Chain c;
    c.rules = rules;
    CHECK_NOTHROW(text::check_sentencepiece_charsmap(c.blob()));
    CHECK(charsmap_lookup_problem(c.blob(), text) == "");
  }
  Chain many;
  many.rules = 33;
  CHECK_THROWS_WITH_AS(text::check_sentencepiece_charsmap(many.blob()), doctest::Contains("more than 32 rules"),
                       TokenizerError);
  CHECK(charsmap_lookup_problem(many.blob(), text) != "");
  Chain loop;
  loop.loop = true;
  CHECK_THROWS_WITH_AS(text::check_sentencepiece_charsmap(loop.blob()), doctest::Contains("loop"), TokenizerError);
  Chain outside;
  outside.outside = true;
  CHECK_THROWS_WITH_AS(text::check_sentencepiece_charsmap(outside.blob()), doctest::Contains("points at unit 1280 of 1280"),
                       TokenizerError);
  CHECK(charsmap_lookup_problem(outside.blob(), text) != "");
  Chain past;
  past.leaf_value = 2;
  CHECK_THROWS_WITH_AS(text::check_sentencepiece_charsmap(past.blob()), doctest::Contains("starts at byte 2 of 2"),
                       TokenizerError);
  Chain no_nul;
  no_nul.strings = "xy";
  CHECK_THROWS_WITH_AS(text::check_sentencepiece_charsmap(no_nul.blob()), doctest::Contains("has no NUL"),
                       TokenizerError);
  CHECK(charsmap_lookup_problem(no_nul.blob(), text) != "");

  std::string blob = Chain().blob();
  CHECK_THROWS_WITH_AS(text::check_sentencepiece_charsmap(blob.substr(0, 4)), doctest::Contains("too short"),
                       TokenizerError);
  std::string big = blob;
  big[1] = '\x7F';  // a trie size past the blob
  CHECK_THROWS_WITH_AS(text::check_sentencepiece_charsmap(big), doctest::Contains("in a blob of"), TokenizerError);
  std::string odd = blob;
  odd[0] = static_cast<char>(odd[0] - 2);  // a size that is not whole units
  CHECK_THROWS_AS(text::check_sentencepiece_charsmap(odd), TokenizerError);
  std::string small(8, '\0');  // one unit, whose children would lie past it
  small[0] = 4;
  CHECK_THROWS_AS(text::check_sentencepiece_charsmap(small), TokenizerError);
}

TEST_CASE("the trainer's own normalization trie passes the check, and corruptions of it never escape it") {
  const std::string& model = model_bytes("t5like");
  const std::string blob = proto_get(proto_get(model, kSpNormalizerSpec), kSpNormalizerCharsmap);
  REQUIRE(blob.size() > 100000);  // nmt_nfkc's rules
  CHECK_NOTHROW(text::check_sentencepiece_charsmap(blob));
  // Text that walks deep into the rules: every 2-byte sequence, and characters NFKC maps.
  std::string probe;
  for (int c = 0; c < 256; ++c) probe += static_cast<char>(c);
  probe += "ﬁﬂ ＡＢＣ ① ² ½ ™ ㎏ ｶﾀｶﾅ é Å 각 Ω \xE3\x80\x80 \xEF\xBF\xBD";
  CHECK(charsmap_lookup_problem(blob, probe) == "");
  // Corrupt one unit at a time (a deterministic walk over the trie): each corrupted blob
  // is refused, or is safe for the lookups of the probe text, and a model carrying it
  // either loads and encodes or is refused: never a crash.
  uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  uint32_t trie_bytes;
  std::memcpy(&trie_bytes, blob.data(), 4);
  int refused = 0, accepted = 0;
  constexpr int kCorruptions = 100;
  for (int k = 0; k < kCorruptions; ++k) {
    std::string bad = blob;
    const size_t at = 4 + 4 * (next() % (trie_bytes / 4));
    const uint32_t bits = next();
    for (int b = 0; b < 4; ++b) bad[at + b] = static_cast<char>(bad[at + b] ^ (bits >> (8 * b)));
    try {
      text::check_sentencepiece_charsmap(bad);
      ++accepted;
      CHECK(charsmap_lookup_problem(bad, probe) == "");
      SentencePieceTokenizer t(replace_charsmap(model, bad), {}, 1, -1, 0);
      t.encode(probe, [] {
        text::EncodeOptions o;
        o.allow_invalid_utf8 = true;
        return o;
      }());
    } catch (const TokenizerError&) {
      ++refused;
    }
  }
  MESSAGE("corrupted tries: " << refused << " refused, " << accepted << " accepted");
  CHECK(refused + accepted == kCorruptions);
}

TEST_CASE("models the check refuses before the library sees them") {
  const std::string& model = model_bytes("t5like");
  // Not a protobuf message at all.
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer("\xFF\xFF\xFF", {}, 1, -1, 0), doctest::Contains("not a valid protobuf"),
                       TokenizerError);
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer("hello, world", {}, 1, -1, 0), doctest::Contains("SentencePiece model"),
                       TokenizerError);
  // Not unigram: BPE (2), and a type this library does not know (9), which it would
  // turn into a null model and then use.
  for (uint64_t type : {2, 9}) {
    const std::string spec = proto_set(proto_get(model, kSpTrainerSpec), varint_field(kSpTrainerModelType, type));
    CHECK_THROWS_WITH_AS(SentencePieceTokenizer(proto_set(model, bytes_field(kSpTrainerSpec, spec)), {}, 1, -1, 0),
                         doctest::Contains("not unigram"), TokenizerError);
  }
  // A piece holding a NUL byte (the library's tries would cut it there).
  {
    std::vector<ProtoField> fields = proto_fields(model);
    for (ProtoField& f : fields)
      if (f.number == kSpPieces && proto_get(f.value, kSpPieceText) == "\xE2\x96\x81the") {
        f.value = proto_set(f.value, bytes_field(kSpPieceText, std::string("\xE2\x96\x81th\0e", 7)));
        break;
      }
    CHECK_THROWS_WITH_AS(SentencePieceTokenizer(proto_join(fields), {}, 1, -1, 0), doctest::Contains("holds a NUL byte"),
                         TokenizerError);
  }
  // No pieces.
  std::vector<ProtoField> no_pieces;
  for (const ProtoField& f : proto_fields(model))
    if (f.number != kSpPieces) no_pieces.push_back(f);
  CHECK_THROWS_WITH_AS(SentencePieceTokenizer(proto_join(no_pieces), {}, 1, -1, 0), doctest::Contains("no pieces"),
                       TokenizerError);
  // A corrupt trie in the denormalizer spec is checked as well.
  CHECK_THROWS_WITH_AS(
      SentencePieceTokenizer(proto_set(model, bytes_field(kSpDenormalizerSpec,
                                                          proto_join({bytes_field(kSpNormalizerCharsmap, "\x01\x02")}))),
                             {}, 1, -1, 0),
      doctest::Contains("too short"), TokenizerError);
  // Every prefix of the model: refused or loaded, never a crash.
  int loaded = 0;
  for (size_t n = 0; n < model.size(); n += 997) {
    try {
      SentencePieceTokenizer t(model.substr(0, n), {}, 1, -1, 0);
      t.encode("probe text");
      ++loaded;
    } catch (const TokenizerError&) {
    }
  }
  MESSAGE("prefixes that loaded: " << loaded);
}

TEST_CASE("a .hmoe file's SENTENCEPIECE table") {
  auto file = ModelFile::open(std::string(HMOE_SPM_DIR) + "/t5like.hmoe");
  const auto tok = text::load_model_tokenizer(*file);
  REQUIRE(tok != nullptr);
  CHECK(std::string(tok->kind_name()) == "SENTENCEPIECE");
  CHECK(tok->vocab_size() == 4100);
  CHECK(tok->eos_id() == 1);
  CHECK(tok->pad_id() == 0);
  CHECK(tok->bos_id() == -1);
  CHECK(tok->encode("a <extra_id_0> b") == t5().encode("a <extra_id_0> b"));
}
