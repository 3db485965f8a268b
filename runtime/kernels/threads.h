// How many threads the runtime uses: the one place that decides the default and the
// limit, for the C++ core, the C API and the command line alike.
//
// The default is OpenMP's own count (OMP_NUM_THREADS, else the processors this process
// may run on), capped at the number of those processors: libgomp takes
// OMP_NUM_THREADS=100000 at its word and dies starting that many threads (a segfault),
// and a default past the processors only oversubscribes them. An explicit count may go
// up to kMaxThreads (each OpenMP region then starts that many threads, slowly but
// safely).
#pragma once

namespace hmoe::kernels {

// = HMOE_MAX_THREADS of the C API.
constexpr int kMaxThreads = 4096;

// The default thread count, in [1, kMaxThreads].
int default_threads();

// `requested`, or default_threads() when it is 0. Throws hmoe::Error (InvalidArgument)
// naming `what` when it is outside [min_threads, kMaxThreads] (min_threads 0 or 1).
int resolve_threads(int requested, const char* what, int min_threads = 0);

// Sets OpenMP's team size to resolve_threads(n) for a scope (a Session::eval, a model's
// load, a quantization) and restores the caller's when it ends, thrown through or not.
class ThreadScope {
 public:
  explicit ThreadScope(int n);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;
  int threads() const { return n_; }

 private:
  int prev_, n_;
};

}  // namespace hmoe::kernels
