// The kernels' thread pool: every task runs exactly once, on at most the threads asked
// for; exceptions reach the caller; nested and concurrent jobs run (serially) too.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/kernels/thread_pool.h"

using namespace hmoe;

TEST_CASE("pool: each task once, worker slots below the thread count") {
  for (int threads : {1, 2, 3, 8})
    for (int64_t n : {0, 1, 2, 5, 100, 10000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> bad_worker{0};
      kernels::parallel_for(n, threads, [&](int64_t t, int worker) {
        hits[static_cast<size_t>(t)].fetch_add(1);
        if (worker < 0 || worker >= threads) bad_worker.fetch_add(1);
      });
      INFO("threads=", threads, " n=", n);
      for (auto& h : hits) CHECK(h.load() == 1);
      CHECK(bad_worker.load() == 0);
    }
}

TEST_CASE("pool: the lowest failing task's exception reaches the caller, after the others ran") {
  std::atomic<int> ran{0};
  try {
    kernels::parallel_for(64, 3, [&](int64_t t, int) {
      ran.fetch_add(1);
      if (t == 17 || t == 40) throw std::runtime_error("task " + std::to_string(t));
    });
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "task 17");
  }
  CHECK(ran.load() == 64);
  // The pool still works afterwards.
  std::atomic<int> after{0};
  kernels::parallel_for(10, 2, [&](int64_t, int) { after.fetch_add(1); });
  CHECK(after.load() == 10);
}

TEST_CASE("pool: a job started inside a task runs on that thread, and pool_threads says 1 there") {
  std::atomic<int> inner{0}, bad{0};
  kernels::parallel_for(8, 2, [&](int64_t, int) {
    if (kernels::pool_threads() != 1) bad.fetch_add(1);
    kernels::parallel_for(5, 2, [&](int64_t, int worker) {
      if (worker != 0) bad.fetch_add(1);
      inner.fetch_add(1);
    });
  });
  CHECK(inner.load() == 40);
  CHECK(bad.load() == 0);
}

TEST_CASE("pool: callers on several threads at once all get their tasks done") {
  std::vector<std::thread> callers;
  std::vector<std::atomic<int64_t>> sums(4);
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 200; ++rep)
        kernels::parallel_for(50, 2, [&](int64_t t, int) { sums[c].fetch_add(t + 1); });
    });
  for (auto& t : callers) t.join();
  for (auto& s : sums) CHECK(s.load() == 200 * 50 * 51 / 2);
}

// Jobs back to back with no spinning, as while other processes contend for the cores: a
// helper still claiming from the last job once took a task past that job's end under the
// next job's task count, ran the next job's task twice and counted it in the next job's
// tally; the caller then returned with a task still running and later waited for ever.
// Every job here checks that each of its tasks ran once, on a worker slot it allowed.
TEST_CASE("pool: back-to-back jobs without spinning run each task once and never hang") {
  const int64_t spin = kernels::pool_spin_us();
  kernels::set_pool_spin_us(0);
  constexpr int64_t kMaxTasks = 7;
  std::vector<std::atomic<int>> hits(kMaxTasks);
  int bad_jobs = 0, bad_workers = 0;
  for (int job = 0; job < 100000; ++job) {
    const int64_t n = 1 + job % kMaxTasks;
    const int threads = 1 + job % 3;  // jobs that allow fewer helpers than the last one
    for (auto& h : hits) h.store(0);
    std::atomic<int> bad_worker{0};
    kernels::parallel_for(n, threads, [&](int64_t t, int worker) {
      hits[static_cast<size_t>(t)].fetch_add(1);
      if (worker >= threads) bad_worker.fetch_add(1);
      volatile int spin_a_little = 0;
      for (int k = 0; k < static_cast<int>((t * 37 + job) % 100); ++k) spin_a_little = spin_a_little + k;
    });
    for (int64_t t = 0; t < kMaxTasks; ++t)
      if (hits[static_cast<size_t>(t)].load() != (t < n ? 1 : 0)) {
        ++bad_jobs;
        break;
      }
    bad_workers += bad_worker.load();
  }
  kernels::set_pool_spin_us(spin);
  CHECK(bad_jobs == 0);
  CHECK(bad_workers == 0);
}
