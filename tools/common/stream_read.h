// A streaming read of a large buffer with the widest SIMD loads the CPU has: the memory
// bandwidth that bounds decode (M = 1). The benchmarks (`hmoe bench`, bench/kernels)
// measure it in the same run as the speeds they report against it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hmoe::kernels {

// Reads n floats with n_threads OpenMP threads (0: OpenMP's default), each reading its
// share as 8 concurrent streams, and returns their sum, so the compiler cannot drop the
// reads. Floats past the last whole vector of each stream's share are not read.
float stream_read(const float* p, size_t n, int n_threads = 0);

// Read bandwidth in GB/s (1e9 bytes): the median of `passes` stream_read()s over a
// freshly allocated buffer of `mib` MiB, far larger than any cache.
double measure_read_bandwidth(int n_threads, int64_t mib = 512, int passes = 5);

}  // namespace hmoe::kernels
