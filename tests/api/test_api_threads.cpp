// One model, many sessions on many threads: each thread's tokens are the tokens the
// same session gives when it runs alone. The model's HyperExpert cache is on demand
// with a budget of 31 of its 992 expert sets, so sessions look up, generate and evict
// entries concurrently. Built with -DHMOE_SANITIZE=thread, this is also the
// ThreadSanitizer run (tests/api/README.md).
//
// HMOE_API_THREADS sets the number of threads (default 8: more threads than cores, so
// sessions interleave inside the same products). Each session runs
// OpenMP with one thread: the parallelism under test is the application's.
#include <doctest/doctest.h>

#include <cstdlib>
#include <exception>
#include <hypermoe.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api_test_models.h"

using namespace hypermoe;

namespace {

struct Job {
  std::vector<int32_t> prompt;
  SessionParams params;
};

int thread_count() {
  const char* s = std::getenv("HMOE_API_THREADS");
  const int n = s ? std::atoi(s) : 8;
  return n > 0 ? n : 8;
}

std::vector<Job> make_jobs(int n, int32_t n_vocab) {
  std::vector<Job> jobs(n);
  for (int i = 0; i < n; ++i) {
    std::mt19937 rng(1000 + i);
    std::uniform_int_distribution<int32_t> id(0, n_vocab - 1);
    jobs[i].prompt.resize(40 + 3 * i);  // random ids route widely: many expert sets
    for (int32_t& t : jobs[i].prompt) t = id(rng);
    SessionParams& p = jobs[i].params;
    p.n_threads = 1;
    // A mix of greedy and seeded sampling, and of both HyperExpert paths.
    if (i % 2 == 0) {
      p.sampling = SamplingParams::greedy();
    } else {
      p.sampling.temperature = 0.8f;
      p.sampling.top_k = 50;
      p.sampling.seed = 77 + i;
    }
    p.hyper_mode = i % 3 == 2 ? HMOE_HYPER_PER_TOKEN : HMOE_HYPER_TABLE;
  }
  return jobs;
}

std::vector<int32_t> run(const Model& model, const Job& job) {
  Session s(model, job.params);
  GenerateOptions opt;
  opt.max_tokens = 24;
  opt.stop_at_eos = false;
  return s.generate(job.prompt, opt).tokens;
}

}  // namespace

TEST_CASE("threads: N sessions on one model give the tokens of one session alone") {
  ModelParams mp;
  mp.n_threads = 1;
  mp.hyper_cache_mb = 1;
  mp.hyper_precompute = false;
  const Model model = Model::load(api_test::model_dir() + "/n32k2.hmoe", mp);
  const int n = thread_count();
  const std::vector<Job> jobs = make_jobs(n, model.info().n_vocab);

  std::vector<std::vector<int32_t>> alone(n);
  for (int i = 0; i < n; ++i) alone[i] = run(model, jobs[i]);
  const HyperCacheStats before = model.hyper_cache_stats();
  CHECK(before.mode == HMOE_HYPER_CACHE_ON_DEMAND);
  INFO("cache after the solo runs: ", before.entries, " entries of ", before.capacity_entries, ", ",
       before.misses, " misses, ", before.evictions, " evictions");
  CHECK(before.evictions > 0);  // the concurrent runs below really evict

  for (int round = 0; round < 3; ++round) {
    std::vector<std::vector<int32_t>> got(n);
    std::vector<std::exception_ptr> errors(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
      threads.emplace_back([&, i] {
        try {
          got[i] = run(model, jobs[i]);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    for (std::thread& t : threads) t.join();
    for (int i = 0; i < n; ++i) {
      CAPTURE(round);
      CAPTURE(i);
      if (errors[i]) {
        try {
          std::rethrow_exception(errors[i]);
        } catch (const std::exception& e) {
          FAIL_CHECK("session ", i, " threw: ", e.what());
        }
        continue;
      }
      CHECK(got[i] == alone[i]);
    }
  }
  const HyperCacheStats after = model.hyper_cache_stats();
  CHECK(after.entries <= after.capacity_entries);
  CHECK(after.misses > before.misses);
}
