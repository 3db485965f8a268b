#include "runtime/text/piece_index.h"

namespace hmoe::text {

int32_t PieceIndex::build(const std::vector<std::string>* pieces, int32_t* earlier) {
  pieces_ = pieces;
  size_t cap = 16;
  while (cap < pieces->size() * 2) cap *= 2;
  slots_.assign(cap, -1);
  mask_ = cap - 1;
  for (size_t id = 0; id < pieces->size(); ++id) {
    const std::string& p = (*pieces)[id];
    for (size_t i = hash_bytes(p) & mask_;; i = (i + 1) & mask_) {
      const int32_t other = slots_[i];
      if (other < 0) {
        slots_[i] = static_cast<int32_t>(id);
        break;
      }
      if ((*pieces)[other] == p) {
        *earlier = other;
        return static_cast<int32_t>(id);
      }
    }
  }
  return -1;
}

}  // namespace hmoe::text
