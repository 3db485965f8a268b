// How much CPU other processes used while a benchmark ran: the project's one reader of
// /proc/stat (hmoe bench and bench/kernels use it). On a shared machine a busy neighbour
// takes cores and memory bandwidth from the threads measured, and a thread descheduled
// in the middle of a product delays it, so benchmarks measure it and warn.
#pragma once
#include <cstdint>

namespace hmoe::tools {

struct CpuSample {
  uint64_t total = 0;  // all CPUs' jiffies, idle included
  uint64_t busy = 0;   // all CPUs' non-idle jiffies
  uint64_t self = 0;   // this process's user + system jiffies
  bool ok = false;     // false where /proc is not readable
};

CpuSample sample_cpu();

// CPU time used by other processes between two samples, as a fraction of all CPUs'
// time; accumulates over several intervals.
class OtherCpu {
 public:
  void add(const CpuSample& before, const CpuSample& after);
  bool known() const { return total_ > 0; }
  double fraction() const;

 private:
  uint64_t total_ = 0, other_ = 0;
};

// The 1-minute load average, or -1 when unknown.
double load_average_1m();

}  // namespace hmoe::tools
