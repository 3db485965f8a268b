// A fast 64-bit hash of short byte strings (vocabulary spellings, pre-tokenizer pieces):
// eight bytes per step, each word mixed by a multiply and a shift. Not for untrusted
// keys in adversarial settings; the tables using it stay correct under collisions.
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>

namespace hmoe::text {

inline uint64_t hash_bytes(std::string_view s) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t h = s.size() * kMul;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  h *= kMul;
  return h ^ (h >> 32);
}

}  // namespace hmoe::text
