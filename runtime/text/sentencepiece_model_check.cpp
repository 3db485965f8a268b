#include "runtime/text/sentencepiece_model_check.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/text/tokenizer.h"

namespace hmoe::text {

namespace {

// --- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ---

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;    // kVarint
  std::string_view body;  // kLengthDelimited
};

// Reads the fields of one message in order. Groups (wire types 3 and 4, long deprecated)
// are refused: no SentencePiece model has them.
class WireReader {
 public:
  WireReader(std::string_view message, const char* what) : rest_(message), what_(what) {}

  bool next(Field* f) {
    if (rest_.empty()) return false;
    const uint64_t key = varint();
    f->number = static_cast<uint32_t>(key >> 3);
    f->wire_type = static_cast<uint32_t>(key & 7);
    if (f->number == 0 || (key >> 3) > 0x1FFFFFFF) fail("a field number of 0 or past 2^29");
    switch (f->wire_type) {
      case kVarint: f->varint = varint(); break;
      case kFixed64: skip(8); break;
      case kFixed32: skip(4); break;
      case kLengthDelimited: {
        const uint64_t n = varint();
        if (n > rest_.size()) fail("a field longer than what is left of it");
        f->body = rest_.substr(0, static_cast<size_t>(n));
        rest_.remove_prefix(static_cast<size_t>(n));
        break;
      }
      default: fail("wire type " + std::to_string(f->wire_type) + " (groups are not used by SentencePiece)");
    }
    return true;
  }

 private:
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) fail("a number cut short");
      const auto b = static_cast<unsigned char>(rest_.front());
      rest_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("a number longer than 10 bytes");
  }
  void skip(size_t n) {
    if (rest_.size() < n) fail("a fixed-size field cut short");
    rest_.remove_prefix(n);
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw TokenizerError(std::string("the SentencePiece model is not a valid protobuf message: ") + what_ + ": " + why);
  }

  std::string_view rest_;
  const char* what_;
};

// Field numbers of sentencepiece_model.proto (the library's schema).
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3, kModelDenormalizerSpec = 5;
constexpr uint32_t kPiecePiece = 1;
constexpr uint32_t kTrainerModelType = 3;
constexpr uint32_t kNormalizerCharsmap = 2;
constexpr uint64_t kUnigram = 1;

// --- the double-array trie of a charsmap (the darts-clone layout the library uses) ---
//
// 32-bit units. A unit's label is `unit & (1 << 31 | 0xFF)` (a leaf unit has bit 31 set,
// so it never equals a byte); bit 8 says a leaf hangs off the unit; its offset is
// `(unit >> 10) << ((unit & 1 << 9) >> 6)`. A lookup starts at `pos = offset(unit[0])` and
// for each input byte c reads unit[pos ^ c]: if its label is c, pos ^= c ^ offset, and if
// it has a leaf, unit[pos] & 0x7FFFFFFF is the match's value (here: where its replacement
// string starts). Any byte value can come next, so from every position a lookup reaches,
// all of pos ^ 0 .. pos ^ 255 must lie in the array.
constexpr size_t kMaxMatchesPerPrefix = 32;  // the library's fixed buffer of matches

uint32_t unit_at(std::string_view trie, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(trie.data()) + 4 * i;
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
uint32_t label_of(uint32_t u) { return u & ((1U << 31) | 0xFF); }
bool has_leaf(uint32_t u) { return ((u >> 8) & 1) == 1; }
uint32_t offset_of(uint32_t u) { return (u >> 10) << ((u & (1U << 9)) >> 6); }

[[noreturn]] void bad_charsmap(const std::string& why) {
  throw TokenizerError("the SentencePiece model's normalization rules (precompiled_charsmap) are corrupt: " + why);
}

void check_trie(std::string_view trie, std::string_view strings) {
  const size_t n = trie.size() / 4;
  auto check_position = [&](uint64_t pos) {
    if ((pos | 0xFF) >= n)
      bad_charsmap("the trie points at unit " + std::to_string(pos) + " of " + std::to_string(n) +
                   " (each position a lookup reaches needs its 256 neighbours inside the array)");
  };
  if (n == 0) bad_charsmap("the trie is empty");
  // Depth-first over the positions a lookup can reach, with the most matches (leaves) a
  // path from each can still collect. A trie is acyclic; a loop is refused.
  enum : uint8_t { kUnseen = 0, kOnPath = 1, kDone = 2 };
  std::vector<uint8_t> state(n, kUnseen), most(n, 0);
  struct Frame {
    uint32_t pos;
    uint32_t next_byte;
  };
  std::vector<Frame> path;
  const uint32_t root = offset_of(unit_at(trie, 0));
  check_position(root);
  state[root] = kOnPath;
  path.push_back({root, 0});
  while (!path.empty()) {
    Frame& f = path.back();
    if (f.next_byte == 256) {
      state[f.pos] = kDone;
      path.pop_back();
      continue;
    }
    const uint32_t c = f.next_byte;
    const uint32_t at = f.pos ^ c;
    const uint32_t u = unit_at(trie, at);
    if (label_of(u) != c) {
      ++f.next_byte;
      continue;
    }
    const uint32_t child = at ^ offset_of(u);
    check_position(child);
    if (state[child] == kOnPath) bad_charsmap("the trie has a loop");
    if (has_leaf(u)) {
      const uint32_t value = unit_at(trie, child) & 0x7FFFFFFF;
      if (value >= strings.size() || std::memchr(strings.data() + value, 0, strings.size() - value) == nullptr)
        bad_charsmap("a rule's replacement starts at byte " + std::to_string(value) + " of " +
                     std::to_string(strings.size()) + " and has no NUL after it");
    }
    if (state[child] == kUnseen) {
      state[child] = kOnPath;
      path.push_back({child, 0});  // f is invalid from here; this byte is looked at again
      continue;
    }
    const size_t through = most[child] + (has_leaf(u) ? 1 : 0);
    if (through > kMaxMatchesPerPrefix)
      bad_charsmap("more than " + std::to_string(kMaxMatchesPerPrefix) + " rules match prefixes of one text");
    if (through > most[f.pos]) most[f.pos] = static_cast<uint8_t>(through);
    ++f.next_byte;
  }
}

void check_normalizer_spec(std::string_view spec, const char* what) {
  WireReader r(spec, what);
  Field f;
  while (r.next(&f))
    if (f.number == kNormalizerCharsmap && f.wire_type == kLengthDelimited && !f.body.empty())
      check_sentencepiece_charsmap(f.body);
}

}  // namespace

void check_sentencepiece_charsmap(std::string_view blob) {
  if (blob.size() <= 4) bad_charsmap(std::to_string(blob.size()) + " bytes, too short for its size field");
  const uint32_t trie_bytes = unit_at(blob, 0);
  if (trie_bytes > blob.size() - 4 || trie_bytes % 4 != 0)
    bad_charsmap("a trie of " + std::to_string(trie_bytes) + " bytes in a blob of " + std::to_string(blob.size()));
  check_trie(blob.substr(4, trie_bytes), blob.substr(4 + trie_bytes));
}

void check_sentencepiece_model(std::string_view serialized) {
  WireReader r(serialized, "the model");
  Field f;
  size_t pieces = 0;
  // Protobuf merges repeated occurrences of a message field and keeps the last value of
  // a scalar, so every occurrence is checked.
  while (r.next(&f)) {
    if (f.wire_type != kLengthDelimited) continue;  // the library's parser skips these too
    switch (f.number) {
      case kModelPieces: {
        WireReader pr(f.body, "a piece");
        Field g;
        while (pr.next(&g))
          if (g.number == kPiecePiece && g.wire_type == kLengthDelimited &&
              g.body.find('\0') != std::string_view::npos)
            throw TokenizerError("the SentencePiece model's piece " + std::to_string(pieces) + " holds a NUL byte");
        ++pieces;
        break;
      }
      case kModelTrainerSpec: {
        WireReader tr(f.body, "the trainer spec");
        Field g;
        while (tr.next(&g))
          if (g.number == kTrainerModelType && g.wire_type == kVarint && g.varint != kUnigram)
            throw TokenizerError("the SentencePiece model's type is " + std::to_string(g.varint) +
                                 ", not unigram (1): only unigram models (T5's) are supported");
        break;
      }
      case kModelNormalizerSpec: check_normalizer_spec(f.body, "the normalizer spec"); break;
      case kModelDenormalizerSpec: check_normalizer_spec(f.body, "the denormalizer spec"); break;
      default: break;
    }
  }
  if (pieces == 0) throw TokenizerError("the SentencePiece model has no pieces");
}

}  // namespace hmoe::text
