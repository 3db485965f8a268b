// The kernels' threads: a small pool that runs the tasks of one job (the row blocks of a
// product, the heads of attention) on the calling thread and up to n - 1 helpers.
//
// Why not an OpenMP team per product: a team ends in a barrier that every member must
// reach, so when one of them is descheduled (another process busy on its core) the
// whole team waits for it, at every product: on 2 cores with one busy, generation ran
// 12-35x slower than on one thread. Here helpers claim tasks one at a time, and a job is
// over when its tasks are done, not when every helper has checked in: a helper that is
// not running claims nothing and delays nothing, unless it was preempted in the middle
// of a task. Helpers that find no work spin for a short while (a decode step starts its
// next product within microseconds), then sleep; the caller, once every task is
// claimed, waits for the last ones the same way. Not while other processes want the
// cores: when the machine has more runnable threads than the pool's awake ones
// (/proc/stat, read every 2 ms by callers, in 6 readings of the last 8), nobody spins
// for a while (spinning beside a busy process halved 2-thread decode). While that
// lasts, a wait far longer than a task (a helper preempted mid-task: its core is wanted
// by another process) makes the pool run the following jobs on the caller alone for 16
// times that wait (doubling while it repeats, at most 0.25 s) before it tries its
// helpers again: on a machine where another process keeps a core busy, default threads
// then run about as fast as one thread. On an idle machine such a wait is the system
// borrowing a core for a moment, and the pool carries on with its helpers.
//
// Helpers that spin between jobs could read the next job's weights into their caches
// meanwhile (the graph knows them before their inputs exist): tried, with exact hints,
// and tokens/s did not move (bench/README.md).
//
// Results never depend on the pool: a task computes the same outputs the same way
// whichever thread runs it, so the kernels give the same bits for any thread count.
#pragma once
#include <cstdint>

namespace hmoe::kernels {

// How many threads a job may use on this thread now: the calling thread's OpenMP team
// size (omp_get_max_threads(), which a session sets to its thread count), or 1 inside an
// OpenMP parallel region or a pool task (the caller already runs on one of many threads).
int pool_threads();

// Type-erased task: call(ctx, task, worker). `worker` is in [0, threads): the slot of the
// thread running the task, for per-thread scratch; tasks must not let it change results.
struct PoolJob {
  void (*call)(void* ctx, int64_t task, int worker) = nullptr;
  void* ctx = nullptr;
};

// Runs job(task) for every task in [0, n_tasks) on at most `threads` threads, the
// caller included, and returns when all are done. With threads <= 1, one task, or the
// pool busy with another caller's job, the caller runs them all in order. An exception
// thrown by a task is rethrown here (the lowest-numbered task's) after the others ran.
void pool_run(int64_t n_tasks, int threads, const PoolJob& job);

template <class F>
void parallel_for(int64_t n_tasks, int threads, const F& body) {
  PoolJob job;
  job.ctx = const_cast<void*>(static_cast<const void*>(&body));
  job.call = [](void* ctx, int64_t task, int worker) { (*static_cast<const F*>(ctx))(task, worker); };
  pool_run(n_tasks, threads, job);
}

// Whether the pool's helpers spin between jobs now (spinning is on and no other process
// wants the cores): a job then starts on every thread within a microsecond, and may be
// cut into as few tasks as threads. Otherwise they sleep, and are woken per job (tens of
// microseconds; longer when other processes hold their cores): a job should be cut
// finely, so that the caller alone can do most of it.
bool pool_helpers_awake();

// How long idle helpers (and a caller waiting for the last tasks) spin before they
// sleep, in microseconds. Default 200; HMOE_POOL_SPIN_US overrides it at start-up
// (0: sleep at once, as OpenMP's passive wait policy does).
int64_t pool_spin_us();
void set_pool_spin_us(int64_t us);

}  // namespace hmoe::kernels
