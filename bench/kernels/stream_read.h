// A streaming read of a large buffer with the widest SIMD loads the CPU has: the memory
// bandwidth that bounds decode (M = 1), measured by the benchmark that reports against it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hmoe::bench {

// Reads n floats (the threads of an OpenMP team share the range, each as 8 concurrent
// streams) and returns their sum, so the compiler cannot drop the reads.
float stream_read(const float* p, size_t n);

}  // namespace hmoe::bench
