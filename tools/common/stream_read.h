// The read bandwidth that bounds decode (M = 1), measured the way STREAM measures its
// kernels: several timed passes over a buffer far larger than the caches, vectorised,
// every thread streaming its share at once, the best pass reported (the best is what
// the memory can give; a slower pass was disturbed). The benchmarks (`hmoe bench`,
// bench/kernels) measure it in the same run as the speeds they report against it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "runtime/kernels/huge_pages.h"

namespace hmoe::kernels {

// Reads n floats with n_threads threads of the kernels' pool (0: the default count),
// and returns their sum, so the compiler cannot drop the reads. `streams` sets how each
// thread walks a piece: 1 = front to back (STREAM's own access pattern), 8 = eight
// places at once (like a kernel reading 8 rows). Floats past the last whole vector of
// each piece's streams are not read.
float stream_read(const float* p, size_t n, int n_threads = 0, int streams = 1);

struct ReadBandwidth {
  double best_gbps = 0;        // the best pass of either pattern: the figure to compare with
  double contiguous_gbps = 0;  // best pass reading front to back
  double streams8_gbps = 0;    // best pass reading 8 places at once per thread
  double median_gbps = 0;      // median pass (both patterns): how steady the machine was
};

// The probe's buffer of `mib` MiB (in huge pages where the system gives them, like the
// repacked weights), allocated and written once, so that every page is mapped before
// the timed reads; a benchmark probing between its repetitions keeps one.
class ReadProbe {
 public:
  explicit ReadProbe(int64_t mib = 512);
  // Read bandwidth in GB/s (1e9 bytes): `passes` timed passes of each pattern,
  // alternating, after an untimed one.
  ReadBandwidth measure(int n_threads, int passes = 10) const;

 private:
  HugeBuffer mem_;
  size_t n_ = 0;  // floats
};

// ReadProbe(mib).measure(n_threads, passes).
ReadBandwidth measure_read_bandwidth_detail(int n_threads, int64_t mib = 512, int passes = 10);
// Its best_gbps.
double measure_read_bandwidth(int n_threads, int64_t mib = 512, int passes = 10);

}  // namespace hmoe::kernels
