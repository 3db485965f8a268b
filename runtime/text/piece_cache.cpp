#include "runtime/text/piece_cache.h"

#include <cstring>

#include "runtime/text/string_hash.h"

namespace hmoe::text {

PieceCache::PieceCache(size_t max_entries, size_t max_piece_bytes)
    : max_entries_(max_entries), max_piece_bytes_(max_piece_bytes > 0xFFFF ? 0xFFFF : max_piece_bytes) {
  size_t cap = 16;
  while (cap < max_entries_ * 2) cap *= 2;
  slots_.assign(cap, Slot{0, 0, 0, 0, 0});
}

size_t PieceCache::find_slot(std::string_view piece, uint64_t h) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.n_ids == 0) return i;
    if (s.hash == static_cast<uint32_t>(h >> 32) && s.key_length == piece.size() &&
        std::memcmp(keys_.data() + s.key_offset, piece.data(), piece.size()) == 0)
      return i;
  }
}

bool PieceCache::lookup(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.size() > max_piece_bytes_ || size_ == 0) return false;
  const Slot& s = slots_[find_slot(piece, hash_bytes(piece))];
  if (s.n_ids == 0) return false;
  // Most pieces are one or two tokens: a loop beats insert()'s call to memmove.
  const int32_t* ids = ids_.data() + s.ids_offset;
  for (uint16_t i = 0; i < s.n_ids; ++i) out->push_back(ids[i]);
  return true;
}

void PieceCache::insert(std::string_view piece, const int32_t* ids, size_t n_ids) {
  if (piece.size() > max_piece_bytes_ || n_ids == 0 || n_ids > 0xFFFF || max_entries_ == 0) return;
  if (size_ >= max_entries_) clear();
  const uint64_t h = hash_bytes(piece);
  Slot& s = slots_[find_slot(piece, h)];
  if (s.n_ids != 0) return;  // already there
  s = Slot{static_cast<uint32_t>(h >> 32), static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(ids_.size()),
           static_cast<uint16_t>(piece.size()), static_cast<uint16_t>(n_ids)};
  keys_.append(piece.data(), piece.size());
  ids_.insert(ids_.end(), ids, ids + n_ids);
  ++size_;
}

void PieceCache::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{0, 0, 0, 0, 0});
  keys_.clear();
  ids_.clear();
  size_ = 0;
}

}  // namespace hmoe::text
