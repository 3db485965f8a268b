// The BPE merge ranks as a flat open-addressing hash map from a pair of token ids to
// (rank, merged token id): the hot look-up of the merge loop, without the node
// allocations and pointer chasing of std::unordered_map.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hmoe::text {

class MergeTable {
 public:
  struct Merge {
    int32_t rank;    // position in merges.txt; lower merges first
    int32_t merged;  // token id of left + right
  };

  explicit MergeTable(size_t expected_entries = 0);
  // Inserts or replaces (GPT-2 builds its ranks with dict(), so a repeated pair keeps
  // the later rank).
  void set(int32_t left, int32_t right, Merge m);
  // nullptr when the pair never merges.
  const Merge* find(int32_t left, int32_t right) const {
    const uint64_t key = pack(left, right);
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.key == key) return &e.merge;
      if (e.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  struct Entry {
    uint64_t key;
    Merge merge;
  };
  static constexpr uint64_t kEmpty = ~0ULL;  // ids are non-negative, so no pair packs to it
  static uint64_t pack(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_) & mask_; }
  void grow();

  std::vector<Entry> entries_;
  size_t mask_ = 0;
  int shift_ = 0;
  size_t size_ = 0;
};

}  // namespace hmoe::text
