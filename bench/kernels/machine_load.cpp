#include "bench/kernels/machine_load.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace hmoe::bench {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Busy CPU seconds of the whole machine since boot (Linux /proc/stat), -1 elsewhere.
double machine_busy_s() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
  const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait,
                            &irq, &softirq, &steal);
  std::fclose(f);
  if (n != 8) return -1;
  return static_cast<double>(user + nice + sys + irq + softirq) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}

}  // namespace

MachineLoad::MachineLoad() : wall_(now_s()), busy_(machine_busy_s()), self_(self_cpu_s()) {}

double MachineLoad::others_cores() const {
  const double busy = machine_busy_s();
  const double wall = now_s() - wall_;
  if (busy < 0 || busy_ < 0 || wall <= 0) return -1;
  const double others = (busy - busy_) - (self_cpu_s() - self_);
  return others > 0 ? others / wall : 0.0;
}

}  // namespace hmoe::bench
