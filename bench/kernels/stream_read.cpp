#include "bench/kernels/stream_read.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/kernels/stream_read.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hmoe {
namespace bench {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

float StreamRead(const float* p, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  float total = 0.f;
  // Static chunks of whole cache lines per thread; four accumulators hide add latency.
#pragma omp parallel reduction(+ : total)
  {
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < static_cast<int64_t>(n / (4 * N)); ++i) {
      const float* q = p + i * 4 * N;
      a0 = hn::Add(a0, hn::LoadU(d, q));
      a1 = hn::Add(a1, hn::LoadU(d, q + N));
      a2 = hn::Add(a2, hn::LoadU(d, q + 2 * N));
      a3 = hn::Add(a3, hn::LoadU(d, q + 3 * N));
    }
    total += hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  }
  return total;
}

}  // namespace HWY_NAMESPACE
}  // namespace bench
}  // namespace hmoe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hmoe::bench {
HWY_EXPORT(StreamRead);
float stream_read(const float* p, size_t n) { return HWY_DYNAMIC_DISPATCH(StreamRead)(p, n); }
}  // namespace hmoe::bench
#endif
