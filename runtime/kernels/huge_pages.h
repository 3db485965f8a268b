// Memory for large arrays that decode streams through once per token (the repacked
// weights; the bandwidth probe's buffer, so that it reads what the weights read).
//
// Aligned to 2 MiB and, on Linux, advised into transparent huge pages (madvise
// MADV_HUGEPAGE; most distributions enable them only where asked). With 4 KiB pages a
// token's weights span tens of thousands of pages, each a TLB miss on every token, and in
// a virtual machine a miss walks two page tables: on a 2-vCPU Zen 5 VM, q4_0 and q8_0
// decode at GPT-2-small dims ran 3-8% faster from huge pages (runtime/kernels/README.md).
// Where the system has no huge pages to give, the memory is ordinary pages, same
// contents; only the speed differs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace hmoe::kernels {

constexpr size_t kHugePageBytes = size_t{2} << 20;

struct HugeFree {
  void operator()(uint8_t* p) const;
};
using HugeBuffer = std::unique_ptr<uint8_t[], HugeFree>;

// At least `bytes` (rounded up to whole huge pages), uninitialised; throws std::bad_alloc.
// Pages are mapped when first written, each huge page whole: write what you use only.
HugeBuffer allocate_huge(size_t bytes);

}  // namespace hmoe::kernels
