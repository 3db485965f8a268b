#include "runtime/kernels/huge_pages.h"

#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace hmoe::kernels {

void HugeFree::operator()(uint8_t* p) const { std::free(p); }

HugeBuffer allocate_huge(size_t bytes) {
  if (bytes > SIZE_MAX - kHugePageBytes) throw std::bad_alloc();
  const size_t size = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = std::aligned_alloc(kHugePageBytes, size == 0 ? kHugePageBytes : size);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Advice only: where it is refused (no THP in this kernel, a qemu user-mode run) the
  // pages are ordinary ones.
  madvise(p, size, MADV_HUGEPAGE);
#endif
  return HugeBuffer(static_cast<uint8_t*>(p));
}

}  // namespace hmoe::kernels
