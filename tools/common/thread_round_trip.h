// How far apart two of the kernels' threads sit: the time a cache line takes to go from
// the calling thread to the pool's first helper and back. Every product a decode step
// shares between two threads hands its inputs to the helper and takes its rows back, so
// two-thread decode pays this several times per product. On a 2-vCPU cloud VM it was
// bimodal: about 85 ns round trip while two threads read about 50 GB/s, about 400 ns while
// they read about 80 (the vCPUs on cores farther apart, each with its own path to memory;
// bench/README.md). `hmoe bench` reports it beside the read bandwidth.
#pragma once

namespace hmoe::kernels {

// The median over `rounds` rounds of `trips` round trips each between the calling thread
// and the pool's first helper, in ns; NaN when they did not meet (called from inside a
// pool task, or a helper that did not come within about 10 ms: another process holding
// its core).
double thread_round_trip_ns(int trips = 1000, int rounds = 5);

}  // namespace hmoe::kernels
