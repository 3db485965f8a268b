#include "runtime/text/merge_table.h"

namespace hmoe::text {

namespace {
size_t capacity_for(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;  // load factor at most 1/2 keeps probe chains short
  return cap;
}
int log2_of(size_t pow2) {
  int k = 0;
  while ((size_t{1} << k) < pow2) ++k;
  return k;
}
}  // namespace

MergeTable::MergeTable(size_t expected_entries) {
  const size_t cap = capacity_for(expected_entries);
  entries_.assign(cap, Entry{kEmpty, {0, 0}});
  mask_ = cap - 1;
  shift_ = 64 - log2_of(cap);
}

void MergeTable::set(int32_t left, int32_t right, Merge m) {
  if ((size_ + 1) * 2 > entries_.size()) grow();
  const uint64_t key = pack(left, right);
  for (size_t i = slot(key);; i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.key == key) {
      e.merge = m;
      return;
    }
    if (e.key == kEmpty) {
      e = Entry{key, m};
      ++size_;
      return;
    }
  }
}

void MergeTable::grow() {
  std::vector<Entry> old;
  old.swap(entries_);
  const size_t cap = old.size() * 2;
  entries_.assign(cap, Entry{kEmpty, {0, 0}});
  mask_ = cap - 1;
  shift_ = 64 - log2_of(cap);
  size_ = 0;
  for (const Entry& e : old)
    if (e.key != kEmpty) set(static_cast<int32_t>(e.key >> 32), static_cast<int32_t>(e.key & 0xFFFFFFFFu), e.merge);
}

}  // namespace hmoe::text
