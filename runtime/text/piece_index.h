// Vocabulary spelling -> token id, looked up by string_view without building a
// std::string (the tokenizer's constructor does three look-ups per merge, 150,000 for
// GPT-2). Open addressing over ids; the spellings stay in the caller's vector, which
// must outlive the index and not change.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/text/string_hash.h"

namespace hmoe::text {

class PieceIndex {
 public:
  // Indexes pieces[0..n). Returns -1, or the id of the first spelling that repeats an
  // earlier one (*earlier is then that earlier id).
  int32_t build(const std::vector<std::string>* pieces, int32_t* earlier);
  // Id of `piece`, or -1.
  int32_t find(std::string_view piece) const {
    if (slots_.empty()) return -1;
    for (size_t i = hash_bytes(piece) & mask_;; i = (i + 1) & mask_) {
      const int32_t id = slots_[i];
      if (id < 0) return -1;
      if ((*pieces_)[id] == piece) return id;
    }
  }

 private:
  const std::vector<std::string>* pieces_ = nullptr;
  std::vector<int32_t> slots_;  // -1: empty
  size_t mask_ = 0;
};

}  // namespace hmoe::text
