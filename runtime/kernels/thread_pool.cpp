#include "runtime/kernels/thread_pool.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <pthread.h>
#endif

namespace hmoe::kernels {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t spin_from_env() {
  const char* s = std::getenv("HMOE_POOL_SPIN_US");
  if (!s || !*s) return 200;
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  if (end == s || *end != '\0' || v < 0) return 200;
  return std::min<long long>(v, 1000000);
}

std::atomic<int64_t>& spin_us_storage() {
  static std::atomic<int64_t> us{spin_from_env()};
  return us;
}

// Spinning pays only on a core nobody else wants: there it saves the microseconds of a
// wake-up per job, but beside another busy process the spinner takes half of that
// core's time, and the scheduler then preempts whichever of our threads holds the
// critical path (with one core of two busy, 2-thread decode of the shipped model ran at
// 0.55x of -t 1, and at 0.9x with no spinning). So while other processes contend for
// the cores (probe_contention below), helpers and the waiting caller sleep at once.
constexpr int64_t kContendedNs = 100000000;
std::atomic<int64_t> g_contended_until_ns{0};

// Threads runnable on the whole machine now (procs_running of /proc/stat, which counts
// the reader), or -1 where that cannot be read.
int procs_running() {
#if defined(__linux__)
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return -1;
  char line[256];
  int n = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "procs_running %d", &n) == 1) break;
  std::fclose(f);
  return n;
#else
  return -1;
#endif
}

// Looked at by callers every kProbeNs (a file read of ~10 us, 0.5% of a core): more
// threads runnable on the machine than ours that may be (the caller and the helpers not
// asleep: spinning or working) means another process waits for a core, which a spinner
// would take from it or from us. Counting only our awake threads keeps a busy
// neighbour in view while our helpers sleep (spinning off, or stopped by this probe).
constexpr int64_t kProbeNs = 2000000;
std::atomic<int64_t> g_next_probe_ns{0};

void probe_contention(int threads) {
  const int64_t now = now_ns();
  if (now < g_next_probe_ns.load(std::memory_order_relaxed)) return;
  g_next_probe_ns.store(now + kProbeNs, std::memory_order_relaxed);
  // Six of the last eight readings: kernel threads and short-lived processes make a
  // reading now and then, in bursts (on an idle 2-vCPU VM, 1.5% of readings, and two in
  // a row often enough to stop spinning 5-14% of the time); a busy process makes all.
  // The first reading stands for the eight before it: a short run (100 tokens of the
  // shipped model take 6 ms) must not spin beside a busy process until it has read six.
  static std::atomic<uint32_t> history{0};
  static std::atomic<bool> first{true};
  const bool over = procs_running() > threads;
  uint32_t h = (history.load(std::memory_order_relaxed) << 1) | (over ? 1u : 0u);
  if (first.exchange(false, std::memory_order_relaxed) && over) h = 0x1FFu;
  h &= 0xFFu;
  history.store(h, std::memory_order_relaxed);
  if (__builtin_popcount(h) >= 6) g_contended_until_ns.store(now + kContendedNs, std::memory_order_relaxed);
}

// How long to spin now: the configured time, or 0 while other processes contend.
int64_t spin_budget_ns() {
  const int64_t configured = spin_us_storage().load(std::memory_order_relaxed) * 1000;
  if (configured == 0) return 0;
  return now_ns() < g_contended_until_ns.load(std::memory_order_relaxed) ? 0 : configured;
}

// Set on pool threads, and on a caller while it runs its own job's tasks: a job started
// from inside a task runs on that thread alone.
thread_local bool tl_in_task = false;

// At most this many helpers: a session may ask for up to 4096 threads, which on a
// machine with fewer cores would only take turns.
constexpr int kMaxHelpers = 255;

class Pool {
 public:
  static Pool& get() {
    // Never destroyed: helpers may still be parked when static destructors run.
    static Pool* p = new Pool();
    return *p;
  }

  void run(int64_t n_tasks, int threads, const PoolJob& job) {
    std::unique_lock<std::mutex> owner(owner_, std::try_to_lock);
    if (!owner.owns_lock()) return run_serial(n_tasks, job);
    if (backoff_until_ns_ > 0) {
      if (now_ns() < backoff_until_ns_) {
        owner.unlock();
        return run_serial(n_tasks, job);
      }
      backoff_until_ns_ = 0;
    }
    const int want = static_cast<int>(std::min<int64_t>({threads - 1, kMaxHelpers, n_tasks - 1}));
    const int helpers = std::min(grow(want), want);
    // Ours that may be runnable now: this thread and the helpers not asleep.
    probe_contention(1 + static_cast<int>(threads_.size()) - sleeping_.load(std::memory_order_relaxed));

    const uint32_t seq = ++seq_value_;
    // First close the last job's claim word: a helper still claiming from it must not
    // pair it with this job's task count or helper limit (it claimed a task past the
    // old job's end, ran it, and counted it in this job's done_: the caller then
    // returned with a task still running, and later waited for ever). A helper that
    // reads the values below (acquire) then sees this store too, and its claim fails.
    claim_.store((static_cast<uint64_t>(seq) << 32) | kNoTask, std::memory_order_seq_cst);
    job_ = job;
    n_tasks_.store(n_tasks, std::memory_order_release);
    helpers_allowed_.store(helpers, std::memory_order_release);
    done_.store(0, std::memory_order_relaxed);
    failed_task_ = -1;
    failed_ = nullptr;
    claim_.store(static_cast<uint64_t>(seq) << 32, std::memory_order_seq_cst);
    seq_.store(seq, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(sleep_mu_);
      wake_cv_.notify_all();
    }

    tl_in_task = true;
    work(seq, 0);
    tl_in_task = false;

    // Every task is claimed; wait for those still running on helpers.
    if (done_.load(std::memory_order_acquire) != n_tasks) {
      const int64_t spin_ns = spin_budget_ns();
      const int64_t t0 = now_ns();
      for (int i = 0; done_.load(std::memory_order_acquire) != n_tasks; ++i) {
        cpu_relax();
        if ((i & 63) == 63 && now_ns() - t0 >= spin_ns) break;
      }
      if (done_.load(std::memory_order_acquire) != n_tasks) {
        std::unique_lock<std::mutex> lk(sleep_mu_);
        caller_sleeping_.store(true, std::memory_order_seq_cst);
        done_cv_.wait(lk, [&] { return done_.load(std::memory_order_seq_cst) == n_tasks; });
        caller_sleeping_.store(false, std::memory_order_relaxed);
      }
      // A task takes microseconds; waiting longer means its helper lost its core in the
      // middle of it. Where another process wants that core (the probe says so), that
      // goes on, and helpers cost more than they give: run the next jobs on this thread
      // alone for a while, 16 times the wait (doubling while stalls repeat, at most
      // 0.25 s), then try again. Not on an idle machine: there the system takes a core
      // for a moment now and then (interrupts, a hypervisor), and running alone after
      // each such stall cost more than it saved (an idle 2-vCPU VM stalled a helper for
      // 0.1-4 ms about 25 times a second; q4_0 decode at two threads ran 1.08x faster,
      // median of 8 rounds, without backing off there).
      const int64_t now = now_ns(), waited = now - t0;
      if (waited > kStallNs && now < g_contended_until_ns.load(std::memory_order_relaxed)) {
        backoff_ns_ = std::min<int64_t>(kMaxBackoffNs, std::max<int64_t>(2 * backoff_ns_, 16 * waited));
        backoff_until_ns_ = now + backoff_ns_;
        return finish();
      }
    }
    backoff_ns_ = 0;
    finish();
  }

  void finish() {
    if (failed_) {
      std::exception_ptr e = failed_;
      failed_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  static void run_serial(int64_t n_tasks, const PoolJob& job) {
    const bool outer = tl_in_task;
    tl_in_task = true;
    std::exception_ptr failed;
    for (int64_t t = 0; t < n_tasks; ++t) {
      try {
        job.call(job.ctx, t, 0);
      } catch (...) {
        if (!failed) failed = std::current_exception();
      }
    }
    tl_in_task = outer;
    if (failed) std::rethrow_exception(failed);
  }

 private:
  Pool() = default;

  // Starts helpers up to `helpers`; returns how many there are (fewer if the system
  // refuses more threads).
  int grow(int helpers) {
    while (static_cast<int>(threads_.size()) < helpers) {
      const int slot = static_cast<int>(threads_.size()) + 1;
      try {
        threads_.emplace_back([this, slot] { helper_main(slot); });
      } catch (const std::system_error&) {
        break;
      }
#if defined(__linux__)
      // Named by the creator, so the name is there before anyone looks (top, gdb, tests).
      pthread_setname_np(threads_.back().native_handle(), "hmoe-pool");
#endif
      threads_.back().detach();
    }
    return static_cast<int>(threads_.size());
  }

  // Claims the next task of job `seq` for `worker`: its index, or -1 when the job has
  // none left, does not take this worker, or is no longer the current one (a helper
  // that woke late). The bounds are read after the claim word and before the
  // exchange, which fails if a newer job was announced meanwhile (run()).
  int64_t claim(uint32_t seq, int worker) {
    uint64_t v = claim_.load(std::memory_order_acquire);
    for (;;) {
      if (static_cast<uint32_t>(v >> 32) != seq) return -1;
      const int64_t t = static_cast<int64_t>(v & 0xFFFFFFFFu);
      if (t >= n_tasks_.load(std::memory_order_acquire)) return -1;
      if (worker > helpers_allowed_.load(std::memory_order_acquire)) return -1;
      if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return t;
    }
  }

  void work(uint32_t seq, int worker) {
    for (int64_t t; (t = claim(seq, worker)) >= 0;) {
      try {
        job_.call(job_.ctx, t, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lk(fail_mu_);
        if (failed_task_ < 0 || t < failed_task_) {
          failed_task_ = t;
          failed_ = std::current_exception();
        }
      }
      if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == n_tasks_.load(std::memory_order_relaxed) &&
          caller_sleeping_.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lk(sleep_mu_);
        done_cv_.notify_all();
      }
    }
  }

  void helper_main(int slot) {
    tl_in_task = true;
    uint32_t seen = seq_.load(std::memory_order_acquire);
    for (;;) {
      uint32_t s = seq_.load(std::memory_order_acquire);
      if (s == seen) {
        const int64_t spin_ns = spin_budget_ns();
        const int64_t t0 = spin_ns > 0 ? now_ns() : 0;
        for (int i = 0; (s = seq_.load(std::memory_order_acquire)) == seen; ++i) {
          cpu_relax();
          if ((i & 63) == 63 && now_ns() - t0 >= spin_ns) break;
        }
        if (s == seen) {
          std::unique_lock<std::mutex> lk(sleep_mu_);
          sleeping_.fetch_add(1, std::memory_order_seq_cst);
          wake_cv_.wait(lk, [&] { return seq_.load(std::memory_order_seq_cst) != seen; });
          sleeping_.fetch_sub(1, std::memory_order_seq_cst);
          s = seq_.load(std::memory_order_acquire);
        }
      }
      seen = s;
      // Only the first helpers_allowed_ slots take part (a job asked for fewer threads).
      // A late reader may see a newer job's limit: harmless, claim() checks the job.
      if (slot <= helpers_allowed_.load(std::memory_order_relaxed)) work(s, slot);
    }
  }

  std::mutex owner_;  // held by the caller whose job runs
  // Backing off from helpers after a stall (run()): until when, and for how long last time.
  static constexpr int64_t kStallNs = 100000;
  static constexpr int64_t kMaxBackoffNs = 250000000;
  int64_t backoff_until_ns_ = 0;
  int64_t backoff_ns_ = 0;
  std::vector<std::thread> threads_;

  // The current job, written by its caller before claim_ and seq_ announce it and not
  // again until all of its tasks are done. A helper reads job_ only after claiming one
  // of its tasks; n_tasks_ and helpers_allowed_ may be read by a helper that woke late
  // (hence atomic), which the sequence number in claim_ then stops.
  PoolJob job_;
  std::atomic<int64_t> n_tasks_{0};
  std::atomic<int> helpers_allowed_{0};
  uint32_t seq_value_ = 0;
  std::atomic<uint64_t> claim_{0};  // (job sequence << 32) | next task
  static constexpr uint64_t kNoTask = 0xFFFFFFFFu;  // a claim word that gives no task
  std::atomic<uint32_t> seq_{0};
  std::atomic<int64_t> done_{0};

  std::mutex fail_mu_;
  int64_t failed_task_ = -1;
  std::exception_ptr failed_;

  std::mutex sleep_mu_;
  std::condition_variable wake_cv_, done_cv_;
  std::atomic<int> sleeping_{0};
  std::atomic<bool> caller_sleeping_{false};
};

}  // namespace

int pool_threads() {
  if (tl_in_task || omp_in_parallel()) return 1;
  return std::max(1, omp_get_max_threads());
}

void pool_run(int64_t n_tasks, int threads, const PoolJob& job) {
  if (n_tasks <= 0) return;
  if (threads <= 1 || n_tasks == 1 || tl_in_task || n_tasks >= (int64_t(1) << 32))
    return Pool::run_serial(n_tasks, job);
  Pool::get().run(n_tasks, threads, job);
}

bool pool_helpers_awake() { return spin_budget_ns() > 0; }

int64_t pool_spin_us() { return spin_us_storage().load(); }
void set_pool_spin_us(int64_t us) { spin_us_storage().store(std::max<int64_t>(0, us)); }

}  // namespace hmoe::kernels
