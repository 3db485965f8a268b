#include "tools/common/stream_read.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "runtime/kernels/huge_pages.h"
#include "runtime/kernels/thread_pool.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tools/common/stream_read.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace hmoe {
namespace kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Sum of a piece of n floats, read with 8 independent accumulators: front to back
// (streams == 1), or as 8 equal parts side by side (streams == 8).
float StreamReadPiece(const float* HWY_RESTRICT p, size_t n, int streams) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  auto a4 = hn::Zero(d), a5 = hn::Zero(d), a6 = hn::Zero(d), a7 = hn::Zero(d);
  if (streams == 8) {
    const size_t per_stream = n / N / 8, stride = per_stream * N;
    for (size_t i = 0; i < per_stream; ++i) {
      const float* q = p + i * N;
      a0 = hn::Add(a0, hn::LoadU(d, q));
      a1 = hn::Add(a1, hn::LoadU(d, q + stride));
      a2 = hn::Add(a2, hn::LoadU(d, q + 2 * stride));
      a3 = hn::Add(a3, hn::LoadU(d, q + 3 * stride));
      a4 = hn::Add(a4, hn::LoadU(d, q + 4 * stride));
      a5 = hn::Add(a5, hn::LoadU(d, q + 5 * stride));
      a6 = hn::Add(a6, hn::LoadU(d, q + 6 * stride));
      a7 = hn::Add(a7, hn::LoadU(d, q + 7 * stride));
    }
  } else {
    const size_t steps = n / (8 * N);
    for (size_t i = 0; i < steps; ++i) {
      const float* q = p + i * 8 * N;
      a0 = hn::Add(a0, hn::LoadU(d, q));
      a1 = hn::Add(a1, hn::LoadU(d, q + N));
      a2 = hn::Add(a2, hn::LoadU(d, q + 2 * N));
      a3 = hn::Add(a3, hn::LoadU(d, q + 3 * N));
      a4 = hn::Add(a4, hn::LoadU(d, q + 4 * N));
      a5 = hn::Add(a5, hn::LoadU(d, q + 5 * N));
      a6 = hn::Add(a6, hn::LoadU(d, q + 6 * N));
      a7 = hn::Add(a7, hn::LoadU(d, q + 7 * N));
    }
  }
  const auto s = hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7)));
  return hn::GetLane(hn::SumOfLanes(d, s));
}

}  // namespace HWY_NAMESPACE
}  // namespace kernels
}  // namespace hmoe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hmoe::kernels {
HWY_EXPORT(StreamReadPiece);

float stream_read(const float* p, size_t n, int n_threads, int streams) {
  const int threads = n_threads > 0 ? n_threads : pool_threads();
  // Several pieces per thread, handed out one at a time: every thread streams until the
  // buffer is done, whichever starts late.
  const int64_t pieces = threads > 1 ? int64_t{threads} * 8 : 1;
  const size_t per_piece = n / static_cast<size_t>(pieces);
  std::vector<float> sums(static_cast<size_t>(pieces), 0.f);
  parallel_for(pieces, threads, [&](int64_t t, int) {
    sums[static_cast<size_t>(t)] =
        HWY_DYNAMIC_DISPATCH(StreamReadPiece)(p + static_cast<size_t>(t) * per_piece, per_piece, streams);
  });
  float total = 0.f;
  for (float s : sums) total += s;
  return total;
}

namespace {
size_t probe_floats(int64_t mib) { return static_cast<size_t>(std::max<int64_t>(mib, 1)) << 18; }
}  // namespace

ReadProbe::ReadProbe(int64_t mib) : mem_(allocate_huge(probe_floats(mib) * sizeof(float))), n_(probe_floats(mib)) {
  std::fill_n(reinterpret_cast<float*>(mem_.get()), n_, 1.f);
}

ReadBandwidth ReadProbe::measure(int n_threads, int passes) const {
  const float* const buf = reinterpret_cast<const float*>(mem_.get());
  const size_t n = n_;
  volatile float sink = 0;
  sink = sink + stream_read(buf, n, n_threads, 1);  // warm-up: TLB, the helpers
  std::vector<double> all;
  ReadBandwidth r;
  for (int i = 0; i < std::max(passes, 1); ++i)
    for (int streams : {1, 8}) {
      const auto t0 = std::chrono::steady_clock::now();
      sink = sink + stream_read(buf, n, n_threads, streams);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double gbps = static_cast<double>(n * sizeof(float)) / s / 1e9;
      all.push_back(gbps);
      double& best = streams == 1 ? r.contiguous_gbps : r.streams8_gbps;
      best = std::max(best, gbps);
    }
  std::sort(all.begin(), all.end());
  r.median_gbps = all[all.size() / 2];
  r.best_gbps = std::max(r.contiguous_gbps, r.streams8_gbps);
  return r;
}

ReadBandwidth measure_read_bandwidth_detail(int n_threads, int64_t mib, int passes) {
  return ReadProbe(mib).measure(n_threads, passes);
}

double measure_read_bandwidth(int n_threads, int64_t mib, int passes) {
  return measure_read_bandwidth_detail(n_threads, mib, passes).best_gbps;
}
}  // namespace hmoe::kernels
#endif
