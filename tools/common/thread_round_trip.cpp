#include "tools/common/thread_round_trip.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <vector>

#include "runtime/kernels/thread_pool.h"
#include "runtime/kernels/threads.h"

namespace hmoe::kernels {
namespace {

using Clock = std::chrono::steady_clock;

// Waits until `line` holds `want`; false after `limit` (the other side never came).
bool wait_for(const std::atomic<long>& line, long want, Clock::time_point limit) {
  for (unsigned i = 0; line.load(std::memory_order_acquire) != want; ++i)
    if ((i & 1023u) == 1023u && Clock::now() > limit) return false;
  return true;
}

// One round: the caller (worker 0) writes odd numbers, the helper answers each with the
// next even one. Seconds per round trip, or NaN when the two did not meet.
double one_round(int trips) {
  struct alignas(64) Line {
    std::atomic<long> v{0};
  } line;
  std::atomic<double> seconds{NAN};
  // A helper that never claims the other task leaves the caller to run both; the
  // deadline keeps each side from waiting for ever on a partner that is not there.
  const Clock::time_point limit = Clock::now() + std::chrono::milliseconds(10);
  parallel_for(2, 2, [&](int64_t, int worker) {
    if (worker == 0) {
      if (!wait_for(line.v, -1, limit)) return;  // the helper says it is there
      const auto t0 = Clock::now();
      for (long i = 0; i < trips; ++i) {
        line.v.store(2 * i + 1, std::memory_order_release);
        if (!wait_for(line.v, 2 * i + 2, limit)) return;
      }
      seconds.store(std::chrono::duration<double>(Clock::now() - t0).count() / trips);
    } else {
      line.v.store(-1, std::memory_order_release);
      for (long i = 0; i < trips; ++i) {
        if (!wait_for(line.v, 2 * i + 1, limit)) return;
        line.v.store(2 * i + 2, std::memory_order_release);
      }
    }
  });
  return seconds.load();
}

}  // namespace

double thread_round_trip_ns(int trips, int rounds) {
  const ThreadScope two(2);
  if (pool_threads() < 2) return NAN;  // inside a task: one thread
  std::vector<double> ns;
  for (int r = 0; r < std::max(rounds, 1); ++r) {
    const double s = one_round(std::max(trips, 1));
    if (std::isnan(s)) return NAN;
    ns.push_back(s * 1e9);
  }
  std::nth_element(ns.begin(), ns.begin() + ns.size() / 2, ns.end());
  return ns[ns.size() / 2];
}

}  // namespace hmoe::kernels
