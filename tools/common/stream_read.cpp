#include "tools/common/stream_read.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tools/common/stream_read.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hmoe {
namespace kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

float StreamRead(const float* p, size_t n, int n_threads) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  // Each thread walks its share as 8 concurrent streams (like a kernel reading 8 rows at
  // once): one stream per core leaves bandwidth unused on CPUs whose prefetchers and
  // miss buffers work per stream.
  constexpr int kStreams = 8;
  float total = 0.f;
#pragma omp parallel num_threads(n_threads > 0 ? n_threads : omp_get_max_threads()) reduction(+ : total)
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t lines = static_cast<int64_t>(n / N);  // vectors in the buffer
    const int64_t per_thread = lines / threads, begin = t * per_thread;
    const int64_t per_stream = per_thread / kStreams;
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    auto a4 = hn::Zero(d), a5 = hn::Zero(d), a6 = hn::Zero(d), a7 = hn::Zero(d);
    const float* base = p + begin * N;
    const int64_t stride = per_stream * N;
    for (int64_t i = 0; i < per_stream; ++i) {
      const float* q = base + i * N;
      a0 = hn::Add(a0, hn::LoadU(d, q));
      a1 = hn::Add(a1, hn::LoadU(d, q + stride));
      a2 = hn::Add(a2, hn::LoadU(d, q + 2 * stride));
      a3 = hn::Add(a3, hn::LoadU(d, q + 3 * stride));
      a4 = hn::Add(a4, hn::LoadU(d, q + 4 * stride));
      a5 = hn::Add(a5, hn::LoadU(d, q + 5 * stride));
      a6 = hn::Add(a6, hn::LoadU(d, q + 6 * stride));
      a7 = hn::Add(a7, hn::LoadU(d, q + 7 * stride));
    }
    const auto s = hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7)));
    total += hn::GetLane(hn::SumOfLanes(d, s));
  }
  return total;
}

}  // namespace HWY_NAMESPACE
}  // namespace kernels
}  // namespace hmoe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hmoe::kernels {
HWY_EXPORT(StreamRead);
float stream_read(const float* p, size_t n, int n_threads) { return HWY_DYNAMIC_DISPATCH(StreamRead)(p, n, n_threads); }

double measure_read_bandwidth(int n_threads, int64_t mib, int passes) {
  const size_t n = static_cast<size_t>(std::max<int64_t>(mib, 1)) << 18;  // floats
  // Written first, so every page is mapped before the timed reads.
  std::vector<float> buf(n, 1.f);
  volatile float sink = 0;
  sink = sink + stream_read(buf.data(), n, n_threads);  // warm-up: TLB, the thread team
  std::vector<double> t;
  for (int i = 0; i < std::max(passes, 1); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    sink = sink + stream_read(buf.data(), n, n_threads);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return static_cast<double>(n * sizeof(float)) / t[t.size() / 2] / 1e9;
}
}  // namespace hmoe::kernels
#endif
