// Remembers the token ids of pre-tokenizer pieces already encoded: natural text
// repeats its words, so most pieces skip the merge loop. Keys and ids live in two
// arenas behind one open-addressing table (no allocation per entry). Bounded: when
// full it starts over, so a long-running process never grows without limit.
// Not synchronised; the owner locks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hmoe::text {

class PieceCache {
 public:
  // Pieces longer than max_piece_bytes are not cached (rare, and they would crowd it).
  explicit PieceCache(size_t max_entries = 32768, size_t max_piece_bytes = 64);

  // Appends the ids of `piece` to `out` and returns true, or returns false when absent.
  bool lookup(std::string_view piece, std::vector<int32_t>* out) const;
  void insert(std::string_view piece, const int32_t* ids, size_t n_ids);
  void clear();
  size_t size() const { return size_; }

 private:
  // 16 bytes, so four share a cache line: the table is probed at random and its misses
  // are most of a warm encode's time.
  struct Slot {
    uint32_t hash;  // high half of the 64-bit hash (the low half picks the slot)
    uint32_t key_offset;
    uint32_t ids_offset;
    uint16_t key_length;
    uint16_t n_ids;  // 0 marks an empty slot: every piece has at least one id
  };
  size_t find_slot(std::string_view piece, uint64_t h) const;

  size_t max_entries_, max_piece_bytes_;
  size_t size_ = 0;
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
};

}  // namespace hmoe::text
