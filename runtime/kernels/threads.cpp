#include "runtime/kernels/threads.h"

#include <omp.h>

#include <algorithm>
#include <string>

#include "formats/error.h"

namespace hmoe::kernels {

int default_threads() {
  // omp_get_num_procs(): the processors available to this process (its affinity mask).
  const int procs = std::max(1, omp_get_num_procs());
  const int openmp = std::max(1, omp_get_max_threads());
  return std::min({openmp, procs, kMaxThreads});
}

int resolve_threads(int requested, const char* what, int min_threads) {
  if (requested < min_threads || requested > kMaxThreads)
    throw Error(Status::InvalidArgument, std::string(what) + " is " + std::to_string(requested) + ", outside [" +
                                             std::to_string(min_threads) + ", " + std::to_string(kMaxThreads) +
                                             "]" + (min_threads == 0 ? " (0: the default)" : ""));
  return requested == 0 ? default_threads() : requested;
}

ThreadScope::ThreadScope(int n) : prev_(omp_get_max_threads()), n_(resolve_threads(n, "n_threads")) {
  omp_set_num_threads(n_);
}

ThreadScope::~ThreadScope() { omp_set_num_threads(prev_); }

}  // namespace hmoe::kernels
