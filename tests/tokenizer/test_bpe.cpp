// BpeTokenizer on small hand-made vocabularies: merge order, GPT-2's one-rank-per-step
// rule, special tokens, invalid UTF-8, decoding, bad vocabularies, and agreement with a
// naive transcription of encoder.py's merge loop on random merge lists.
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/text/bpe_tokenizer.h"
#include "runtime/text/byte_unicode.h"
#include "runtime/text/pretokenizer.h"
#include "runtime/text/rng.h"

using namespace hmoe::text;

namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

// 256 single-byte tokens (id = byte), then one token per merge product, then `extra`.
struct Toy {
  std::vector<std::string> vocab, merges;

  explicit Toy(const std::vector<std::pair<std::string, std::string>>& merge_bytes,
               const std::vector<std::string>& extra = {}) {
    for (int b = 0; b < 256; ++b) vocab.push_back(bytes_to_piece(std::string(1, static_cast<char>(b))));
    for (const auto& [l, r] : merge_bytes) {
      const std::string product = bytes_to_piece(l + r);
      if (std::find(vocab.begin(), vocab.end(), product) == vocab.end()) vocab.push_back(product);
      merges.push_back(bytes_to_piece(l) + " " + bytes_to_piece(r));
    }
    for (const std::string& e : extra) vocab.push_back(e);
  }
  int32_t id(const std::string& bytes) const {
    const std::string p = bytes_to_piece(bytes);
    return static_cast<int32_t>(std::find(vocab.begin(), vocab.end(), p) - vocab.begin());
  }
};

std::vector<std::string> token_strings(const BpeTokenizer& t, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(t.token_bytes(id));
  return out;
}

using Strings = std::vector<std::string>;

// encoder.py's bpe(), transcribed naively on byte strings.
Strings naive_bpe(const std::string& piece, const std::map<std::pair<std::string, std::string>, int>& ranks) {
  Strings word;
  for (char c : piece) word.emplace_back(1, c);
  while (word.size() > 1) {
    int best = INT_MAX;
    std::pair<std::string, std::string> bigram;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks.find({word[i], word[i + 1]});
      if (it != ranks.end() && it->second < best) {
        best = it->second;
        bigram = it->first;
      }
    }
    if (best == INT_MAX) break;
    Strings next;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == bigram.first && word[i + 1] == bigram.second) {
        next.push_back(word[i] + word[i + 1]);
        i += 2;
      } else {
        next.push_back(word[i++]);
      }
    }
    word = std::move(next);
  }
  return word;
}

}  // namespace

TEST_CASE("merges apply by rank, lowest first") {
  // "b c" outranks "a b", so "abc" becomes a + bc, then abc.
  Toy toy(Merges{{"b", "c"}, {"a", "b"}, {"a", "bc"}});
  BpeTokenizer t(toy.vocab, toy.merges);
  CHECK(t.encode("abc") == std::vector<int32_t>{toy.id("abc")});
  CHECK(token_strings(t, t.encode("ab")) == Strings{"ab"});
  CHECK(token_strings(t, t.encode("abab")) == Strings{"ab", "ab"});
  // With "a b" first, "abc" stops at ab + c: no merge joins them.
  Toy other(Merges{{"a", "b"}, {"b", "c"}, {"a", "bc"}});
  BpeTokenizer u(other.vocab, other.merges);
  CHECK(token_strings(u, u.encode("abc")) == Strings{"ab", "c"});
}

TEST_CASE("a step merges every occurrence of the pair, left to right, before the next rank") {
  Toy toy(Merges{{"a", "a"}, {"aa", "aa"}});
  BpeTokenizer t(toy.vocab, toy.merges);
  CHECK(token_strings(t, t.encode("aaa")) == Strings{"aa", "a"});
  CHECK(token_strings(t, t.encode("aaaa")) == Strings{"aaaa"});
  CHECK(token_strings(t, t.encode("aaaaa")) == Strings{"aaaa", "a"});
  // A product that outranks its own pair: encoder.py merges all (a, a) first, giving
  // aa + aa; merging one pair at a time would take (aa, a) next and give aaa + a.
  Toy odd(Merges{{"aa", "a"}, {"a", "a"}});
  BpeTokenizer v(odd.vocab, odd.merges);
  CHECK(token_strings(v, v.encode("aaaa")) == Strings{"aa", "aa"});
  CHECK(token_strings(v, v.encode("aaa")) == Strings{"aaa"});
}

TEST_CASE("merge loop equals encoder.py's on random merge lists") {
  Rng rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    // Tokens over a 3-letter alphabet; every merge joins two existing tokens.
    std::vector<std::string> tokens = {"a", "b", "c"};
    std::vector<std::pair<std::string, std::string>> merges;
    for (int m = 0; m < 40; ++m) {
      const std::string l = tokens[rng.next_u64() % tokens.size()], r = tokens[rng.next_u64() % tokens.size()];
      if (l.size() + r.size() > 8) continue;
      bool dup = false;
      for (auto& x : merges) dup |= x.first == l && x.second == r;
      if (dup) continue;
      merges.push_back({l, r});
      if (std::find(tokens.begin(), tokens.end(), l + r) == tokens.end()) tokens.push_back(l + r);
    }
    // Every other trial shuffles the ranks: products may then outrank their parts.
    if (trial % 2)
      for (size_t i = merges.size(); i > 1; --i) std::swap(merges[i - 1], merges[rng.next_u64() % i]);
    std::map<std::pair<std::string, std::string>, int> ranks;
    for (size_t i = 0; i < merges.size(); ++i) ranks[merges[i]] = static_cast<int>(i);
    Toy toy(merges);
    BpeTokenizer t(toy.vocab, toy.merges);
    for (int w = 0; w < 50; ++w) {
      std::string word;
      const size_t len = 1 + rng.next_u64() % 80;  // both the short (<= 32) and the long path
      for (size_t i = 0; i < len; ++i) word += static_cast<char>('a' + rng.next_u64() % 3);
      CAPTURE(trial);
      CAPTURE(word);
      CHECK(token_strings(t, t.encode(word)) == naive_bpe(word, ranks));
    }
  }
}

TEST_CASE("special tokens become their ids when enabled, text otherwise") {
  Toy toy(Merges{{"<", "|"}, {"|", ">"}}, {"<|endoftext|>", "<|pad|>"});
  const int32_t eot = static_cast<int32_t>(toy.vocab.size()) - 2;
  const int32_t pad = eot + 1;
  BpeTokenizer t(toy.vocab, toy.merges, eot, eot);
  CHECK(t.eos_id() == eot);
  CHECK(t.is_special(eot));
  CHECK(t.is_special(pad));  // spelled <|...|>
  CHECK_FALSE(t.is_special('a'));
  CHECK(t.encode("a<|endoftext|>b") == std::vector<int32_t>{'a', eot, 'b'});
  CHECK(t.encode("<|endoftext|><|pad|>") == std::vector<int32_t>{eot, pad});
  CHECK(t.encode("<|endoftext") == std::vector<int32_t>{toy.id("<|"), 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't'});
  EncodeOptions plain;
  plain.special_tokens = false;
  const auto ids = t.encode("a<|endoftext|>b", plain);
  CHECK(std::find(ids.begin(), ids.end(), eot) == ids.end());
  CHECK(t.decode(ids) == "a<|endoftext|>b");
  CHECK(t.decode({'a', eot, 'b'}) == "a<|endoftext|>b");
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  CHECK(t.decode({'a', eot, 'b'}, skip) == "ab");
  // Specials split the text like a hard boundary: the space before one stays a piece.
  CHECK(token_strings(t, t.encode("x <|pad|> y")) == Strings{"x", " ", "<|pad|>", " ", "y"});
  t.set_special_tokens({});
  CHECK(t.encode("<|pad|>").size() > 1);
  CHECK_THROWS_WITH_AS(t.set_special_tokens({99999}), doctest::Contains("99999"), TokenizerError);
}

TEST_CASE("invalid UTF-8 is refused with its offset, or encoded as raw bytes when allowed") {
  Toy toy(Merges{{"a", "b"}});
  BpeTokenizer t(toy.vocab, toy.merges);
  CHECK_THROWS_WITH_AS(t.encode("abc\xff" "def"), doctest::Contains("offset 3"), TokenizerError);
  CHECK_THROWS_WITH_AS(t.encode("ab\xe2\x82"), doctest::Contains("0xE2 at offset 2"), TokenizerError);
  EncodeOptions raw;
  raw.allow_invalid_utf8 = true;
  const std::string text = "ab\xff\xfe cd\xc3 \xed\xa0\x80!";
  CHECK(t.decode(t.encode(text, raw)) == text);
}

TEST_CASE("every byte string round-trips when raw bytes are allowed") {
  Toy toy(Merges{{"a", "b"}, {" ", "a"}, {"\xc3", "\xa9"}, {"\xff", "\xff"}, {"\n", "\n"}});
  BpeTokenizer t(toy.vocab, toy.merges);
  EncodeOptions raw;
  raw.allow_invalid_utf8 = true;
  Rng rng(1);
  for (int i = 0; i < 300; ++i) {
    std::string s;
    const size_t len = rng.next_u64() % 64;
    for (size_t k = 0; k < len; ++k) {
      const uint64_t r = rng.next_u64();
      s.push_back(r % 3 == 0 ? "ab \n\xc3\xa9\xff"[r % 7] : static_cast<char>(r >> 8));
    }
    CAPTURE(i);
    CHECK(t.decode(t.encode(s, raw)) == s);
  }
}

TEST_CASE("decode and token accessors reject ids outside the vocabulary") {
  Toy toy(Merges{});
  BpeTokenizer t(toy.vocab, toy.merges);
  CHECK(t.vocab_size() == 256);
  CHECK_THROWS_WITH_AS(t.decode({1, 2, 256}), doctest::Contains("token id 256 at position 2"), TokenizerError);
  CHECK_THROWS_AS(t.decode({-1}), TokenizerError);
  CHECK_THROWS_AS(t.token_bytes(300), TokenizerError);
  CHECK_THROWS_AS(t.piece(-5), TokenizerError);
  CHECK(t.piece(' ') == "\xc4\xa0");
  CHECK(t.piece_to_id("\xc4\xa0") == ' ');
  CHECK(t.piece_to_id("nope") == -1);
  CHECK(t.decode(std::vector<int32_t>{}).empty());
  CHECK(t.encode("").empty());
}

TEST_CASE("bad vocabularies and merges are refused with the entry named") {
  Toy toy(Merges{{"a", "b"}});
  SUBCASE("missing single-byte token") {
    auto v = toy.vocab;
    v['\n'] = "renamed";
    CHECK_THROWS_WITH_AS(BpeTokenizer(v, toy.merges), doctest::Contains("byte 0x0A"), TokenizerError);
  }
  SUBCASE("spelling outside the byte alphabet") {
    auto v = toy.vocab;
    v.push_back("a b");
    CHECK_THROWS_WITH_AS(BpeTokenizer(v, toy.merges), doctest::Contains("U+0020"), TokenizerError);
  }
  SUBCASE("repeated spelling") {
    auto v = toy.vocab;
    v.push_back("ab");
    CHECK_THROWS_WITH_AS(BpeTokenizer(v, toy.merges), doctest::Contains("both spelled \"ab\""), TokenizerError);
  }
  SUBCASE("merge of unknown tokens, or with an unknown product") {
    CHECK_THROWS_WITH_AS(BpeTokenizer(toy.vocab, {"a b", "ab zz"}), doctest::Contains("\"zz\" is not in the vocabulary"),
                         TokenizerError);
    CHECK_THROWS_WITH_AS(BpeTokenizer(toy.vocab, {"a c"}), doctest::Contains("merged token \"ac\""), TokenizerError);
    CHECK_THROWS_WITH_AS(BpeTokenizer(toy.vocab, {"ab"}), doctest::Contains("merge 0"), TokenizerError);
  }
  SUBCASE("special ids out of range") {
    CHECK_THROWS_WITH_AS(BpeTokenizer(toy.vocab, toy.merges, 1000), doctest::Contains("1000"), TokenizerError);
  }
  SUBCASE("empty vocabulary") { CHECK_THROWS_AS(BpeTokenizer({}, {}), TokenizerError); }
}

TEST_CASE("the piece cache changes nothing, across threads too") {
  Toy toy(Merges{{"t", "h"}, {"th", "e"}, {" ", "the"}, {"a", "n"}});
  BpeTokenizer t(toy.vocab, toy.merges);
  const std::string text = "the an then than the anthem and the end, the the the";
  const auto first = t.encode(text);
  CHECK(t.encode(text) == first);
  t.clear_cache();
  CHECK(t.encode(text) == first);
  std::vector<std::vector<int32_t>> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 200; ++k) results[i] = t.encode(text);
    });
  for (auto& th : threads) th.join();
  for (const auto& r : results) CHECK(r == first);
}

TEST_CASE("a long piece merges in n log n, not n^2") {
  Toy toy(Merges{{"a", "a"}, {"aa", "aa"}, {"aaaa", "aaaa"}});
  BpeTokenizer t(toy.vocab, toy.merges);
  const auto ids = t.encode(std::string(1 << 20, 'a'));  // a quadratic loop would take minutes
  CHECK(ids.size() == (1 << 17));
  CHECK(std::all_of(ids.begin(), ids.end(), [&](int32_t id) { return id == toy.id("aaaaaaaa"); }));
}
