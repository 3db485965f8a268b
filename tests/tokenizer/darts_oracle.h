// Test oracle for check_sentencepiece_charsmap: runs the lookup libsentencepiece does on
// a charsmap (the longest rule matching a prefix of the text, at every start position),
// written separately from the check and with a bounds test on every read. A charsmap the
// check accepts must never make it leave its buffers. Used by the unit tests and the
// fuzz target fuzz_sentencepiece.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace hmoe::test {

// Empty when every lookup of every suffix of `text` stays inside the blob, else what went
// wrong. `blob` must have passed the size checks (at least 4 bytes, trie size inside).
inline std::string charsmap_lookup_problem(std::string_view blob, std::string_view text) {
  uint32_t trie_bytes;
  std::memcpy(&trie_bytes, blob.data(), 4);  // little-endian, as the library reads it on these hosts
  const std::string_view trie = blob.substr(4, trie_bytes);
  const std::string_view strings = blob.substr(4 + trie_bytes);
  const size_t n = trie.size() / 4;
  auto unit = [&](uint64_t i, uint32_t* u) {
    if (i >= n) return false;
    std::memcpy(u, trie.data() + 4 * i, 4);
    return true;
  };
  uint32_t u;
  if (!unit(0, &u)) return "the root unit is outside the array";
  const uint64_t root = (u >> 10) << ((u & (1U << 9)) >> 6);
  for (size_t start = 0; start < text.size(); ++start) {
    uint64_t pos = root;
    size_t matches = 0;
    for (size_t i = start; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      pos ^= c;
      if (!unit(pos, &u)) return "a lookup read unit " + std::to_string(pos) + " of " + std::to_string(n);
      if ((u & ((1U << 31) | 0xFF)) != c) break;
      pos ^= (u >> 10) << ((u & (1U << 9)) >> 6);
      if ((u >> 8) & 1) {
        uint32_t leaf;
        if (!unit(pos, &leaf)) return "a leaf at unit " + std::to_string(pos) + " of " + std::to_string(n);
        const uint32_t value = leaf & 0x7FFFFFFF;
        if (value >= strings.size() || std::memchr(strings.data() + value, 0, strings.size() - value) == nullptr)
          return "a replacement at " + std::to_string(value) + " without a NUL inside the blob";
        if (++matches > 32) return "more than 32 matches for one prefix";
      }
    }
  }
  return {};
}

}  // namespace hmoe::test
