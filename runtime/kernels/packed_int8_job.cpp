// The packed path's front end: quantise the inputs once per product, cut the pairs of
// row groups of one product (or of a set of them, as one job) over the pool's threads,
// and run the SIMD kernel (packed_int8_simd.cpp) on each share.
#include "runtime/kernels/packed_int8.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/kernels/packed_int8_simd.h"
#include "runtime/kernels/thread_pool.h"

namespace hmoe::kernels {

namespace {

// Weight bytes below which a product stays on one thread, and the least a thread is
// given (a job costs about a microsecond to hand out when the helpers are awake).
constexpr int64_t kMinParallelBytes = 96 << 10;
constexpr int64_t kMinBytesPerThread = 48 << 10;

// How a job's pairs of row groups (each one stream through memory) are cut into tasks
// for `threads` threads, by work (a pair's bytes, times its inputs past the first four):
// the pairs of a set of products may differ a hundredfold (a HyperExpert's up-projection
// beside an expert's), and a cut by pairs once left one thread twice the other's bytes.
//
// While the pool's helpers are awake (spinning between jobs): first one large contiguous
// task per thread, together 90% of the work, then two small tasks per thread for the
// rest, which whoever is free first takes (a helper that starts a little late, or runs
// slower, leaves little for the others to wait on). Every task starts a new stream
// through memory, which the hardware prefetchers must pick up again, and costs a claim
// on a cache line the threads share: a token's q4_0 products at GPT-2-small dims, on 2
// threads of a Zen 5, streamed 24-28 GB/s cut into 48 KiB tasks and 40-43 cut into 4
// equal tasks per thread; this split did as well or a little better than the other
// mixes tried (bench/kernels/README.md). Threads stealing the rest of a slower one's
// share from its end, in place of the small tasks, halved the caller's waits at the
// ends of jobs but left tokens/s where it was (0.98-1.07x; bench/README.md).
//
// While they sleep (other processes want the cores, or spinning is off), a helper may
// join a job tens of microseconds late, or not at all, and a large task it claimed late
// would hold the job up: then tasks of about 48 KiB, most of which the caller takes.
struct WorkSplit {
  static constexpr int64_t kTailTasksPerThread = 2;
  static constexpr int64_t kFineTaskBytes = 48 << 10;
  int64_t total = 0, n_big = 0, big = 0, tail_tasks = 0;

  WorkSplit(int64_t total_work, int threads, bool helpers_awake) : total(total_work) {
    if (helpers_awake) {
      n_big = threads;
      big = total * 9 / (10 * threads);
      tail_tasks = threads * kTailTasksPerThread;
    } else {
      tail_tasks = (total + kFineTaskBytes - 1) / kFineTaskBytes;
    }
  }
  int64_t tasks() const { return n_big + tail_tasks; }
  // Where task t's work starts (t = tasks(): the end).
  int64_t start(int64_t t) const {
    const int64_t rest = total - n_big * big;
    return t <= n_big ? t * big : n_big * big + (rest * (t - n_big) + tail_tasks - 1) / tail_tasks;
  }
};

// The products of one job, their pairs numbered one after another.
struct JobScratch {
  std::vector<Int8Activations> acts;  // one buffer of codes per panel problem, alive until the job ends
  std::vector<PackedProblem> probs;   // every product's panels, one product after another
  // Product i: panels probs[first_prob[i], first_prob[i + 1]), pairs [first_pair[i],
  // first_pair[i + 1]) of the job's, work [first_work[i], first_work[i + 1]),
  // pair_work[i] per pair, activation act[i].
  std::vector<int64_t> first_prob, first_pair, first_work, pair_work;
  std::vector<Activation> act;
};
thread_local JobScratch tl_job;

// The panel problems of one packed product (`packed`: packed_for(W), checked by the
// caller) into out[0, panels), each panel's columns of the inputs quantised into
// acts[i] (blocks are quantised alone: the same codes as the whole row's). Returns the
// whole matrix's geometry.
PackedGeometry panel_problems(const uint8_t* packed, const float* x, int64_t M, int64_t ldx, const MatrixView& W,
                              const float* bias, float* y, int64_t ldy, Int8Activations* acts, PackedProblem* out) {
  const PackedGeometry whole = packed_geometry(W.dtype, W.rows, W.cols);
  for (int64_t i = 0; i < whole.panels; ++i) {
    PackedProblem& p = out[i];
    p = PackedProblem{};
    p.geo = whole.panel(i);
    p.groups = packed + kPackedHeaderBytes;
    quantize_activations_int8(x + p.geo.block0 * kQuantBlock, M, ldx, p.geo.nb * kQuantBlock, &acts[i]);
    p.rows = W.rows;
    p.xa = &acts[i];
    p.bias = i + 1 == whole.panels ? bias : nullptr;
    p.y = y;
    p.ldy = ldy;
    p.carry = i > 0;
  }
  return whole;
}

// Asks for a panel's input codes, scales and sums ahead of their use.
void prefetch_inputs(const Int8Activations& xa) {
  const int64_t nb = xa.cols / kQuantBlock;
  for (int64_t o = 0; o < xa.M * xa.ld; o += 64) __builtin_prefetch(xa.q.data() + o);
  for (int64_t o = 0; o < xa.M * nb; o += 16) {
    __builtin_prefetch(xa.scale.data() + o);
    __builtin_prefetch(xa.sum.data() + o);
  }
}

// A thread's groups of one product, one input, are read as two streams side by side
// (its range's first half beside its second) once each half is at least this long. On
// a Zen 5 one core then keeps more of its reads in flight: the decode kernel's loop over
// long ranges read 1.06-1.19x faster from memory in a microbenchmark, and decode
// tokens/s rose 1.07x (q4_0) and 1.12x (q8_0) at one thread, 1.02x and 1.10x at two, at
// GPT-2-small dims (bench/kernels/README.md, "Two streams per thread"). Shorter halves
// lose: each stream start is a new ramp for the prefetchers (halves of 55 KB read
// 0.86-0.92x as fast as one stream), and with 128 KiB halves allowed decode was 1-2%
// slower than with this bound.
constexpr int64_t kTwoStreamBytes = 256 << 10;

// Groups [g0, g1) of a product of n panels as one stream: band after band, each panel
// after panel, in the order they lie in memory (a band's rows sum panel after panel, as
// the reference sums them). The next panel's inputs are asked for as each panel starts:
// a q8_0 band of 3072 columns streams 416 KB before a panel's inputs come round again,
// far enough to push them out of the nearer caches; without the prefetch, q8_0 decode at
// switch-base-8 dims and one thread ran 0.94-0.98x as fast as with panels stored whole
// (in-process A/B, four runs), with it 0.97-1.02x.
void run_panels_one_stream(const PackedProblem* panels, int64_t n, int64_t g0, int64_t g1) {
  if (n == 1) return simd_packed_groups(panels[0], g0, g1);
  constexpr int64_t kBandGroups = 2 * kPackedBandPairs;
  for (int64_t b0 = g0; b0 < g1;) {
    const int64_t b1 = std::min(g1, (b0 / kBandGroups + 1) * kBandGroups);
    for (int64_t i = 0; i < n; ++i) {
      prefetch_inputs(*panels[i + 1 < n ? i + 1 : 0].xa);
      simd_packed_groups(panels[i], b0, b1);
    }
    b0 = b1;
  }
}

// Groups [g0, g1) of a product of n panels: as two streams (kTwoStreamBytes) where the
// range is long enough and starts on a unit (a pair; a band where there are several
// panels, so that each stream runs band after band through memory as above), the
// units of its first half beside those of its second; the rest as one stream. The
// same sums in the same order either way.
void run_panels(const PackedProblem* panels, int64_t n, int64_t g0, int64_t g1) {
  const PackedGeometry& geo = panels[0].geo;
  const int64_t unit = n == 1 ? 2 : 2 * kPackedBandPairs;  // in groups
  const int64_t unit_bytes = n == 1 ? geo.pair_bytes : kPackedBandPairs * geo.full_pair_bytes;
  const int64_t half = (g1 - g0) / unit / 2;  // units per stream
  if (panels[0].xa->M != 1 || g0 % unit != 0 || half * unit_bytes < kTwoStreamBytes)
    return run_panels_one_stream(panels, n, g0, g1);
  const int64_t mid = g0 + half * unit, end = mid + half * unit;
  if (n == 1) {
    simd_packed_groups_two(panels[0], g0, mid, mid, end);
  } else {
    for (int64_t a = g0, b = mid; a < mid; a += unit, b += unit)
      for (int64_t i = 0; i < n; ++i) {
        prefetch_inputs(*panels[i + 1 < n ? i + 1 : 0].xa);
        simd_packed_groups_two(panels[i], a, a + unit, b, b + unit);
      }
  }
  run_panels_one_stream(panels, n, end, g1);
}

// The packed path for n products (one: packed_linear; several: linear_set), as one job.
void run_packed_job(const LinearArgs* set, int64_t n, const char* caller) {
  JobScratch& job = tl_job;  // the caller's: the tasks below read it from other threads
  int64_t panels = 0;
  for (int64_t i = 0; i < n; ++i) {
    const LinearArgs& a = set[i];
    if (!packed_for(a.W))
      throw std::invalid_argument(std::string(caller) + ": product " + std::to_string(i) +
                                  " has no repacked weights of its own");
    if (a.M > 0) panels += packed_geometry(a.W.dtype, a.W.rows, a.W.cols).panels;
  }
  if (static_cast<int64_t>(job.acts.size()) < panels) job.acts.resize(static_cast<size_t>(panels));
  job.probs.resize(static_cast<size_t>(panels));
  job.act.clear();
  job.pair_work.clear();
  job.first_prob.assign(1, 0);
  job.first_pair.assign(1, 0);
  job.first_work.assign(1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const LinearArgs& a = set[i];
    if (a.M <= 0) continue;
    const int64_t k = job.first_prob.back();
    // a.W.packed: packed_for(a.W), checked above.
    const PackedGeometry g = panel_problems(static_cast<const uint8_t*>(a.W.packed), a.x, a.M, a.ldx, a.W, a.bias,
                                            a.y, a.ldy, &job.acts[static_cast<size_t>(k)],
                                            &job.probs[static_cast<size_t>(k)]);
    job.first_prob.push_back(k + g.panels);
    job.act.push_back(a.act);
    // Work per pair grows with the inputs once they no longer ride along for free.
    job.pair_work.push_back(g.pair_bytes * std::max<int64_t>(1, a.M / 4));
    job.first_pair.push_back(job.first_pair.back() + g.pairs());
    job.first_work.push_back(job.first_work.back() + job.pair_work.back() * g.pairs());
  }
  const int64_t pairs = job.first_pair.back(), total = job.first_work.back();
  if (pairs == 0) return;
  // Pairs [p0, p1) of the job, which may span products.
  auto run_pairs = [&job](int64_t p0, int64_t p1) {
    const std::vector<int64_t>& first = job.first_pair;
    size_t i = static_cast<size_t>(std::upper_bound(first.begin(), first.end(), p0) - first.begin() - 1);
    for (; p0 < p1; ++i) {
      const int64_t end = std::min(p1, first[i + 1]);
      const PackedProblem* product = &job.probs[static_cast<size_t>(job.first_prob[i])];
      const PackedProblem& p = product[0];
      const int64_t g0 = 2 * (p0 - first[i]), g1 = std::min(p.geo.groups, 2 * (end - first[i]));
      run_panels(product, job.first_prob[i + 1] - job.first_prob[i], g0, g1);
      // The rows just computed, while they are in this thread's cache.
      const int64_t r0 = g0 * kPackedRows;
      apply_activation(job.act[i], p.y + r0, p.xa->M, p.ldy, std::min(p.rows, g1 * kPackedRows) - r0, true);
      p0 = end;
    }
  };
  const int threads = total >= kMinParallelBytes
                          ? static_cast<int>(std::min<int64_t>({pool_threads(), total / kMinBytesPerThread, pairs}))
                          : 1;
  if (threads <= 1) return run_pairs(0, pairs);
  // The pair boundary nearest to a point of work; in a product of several panels, the
  // nearest band boundary (a thread's share is then one stream through memory).
  auto pair_at = [&job, pairs, total](int64_t w) {
    if (w >= total) return pairs;
    const std::vector<int64_t>& first = job.first_work;
    const size_t i = static_cast<size_t>(std::upper_bound(first.begin(), first.end(), w) - first.begin() - 1);
    const int64_t unit = job.first_prob[i + 1] - job.first_prob[i] > 1 ? kPackedBandPairs : 1;
    const int64_t unit_work = job.pair_work[i] * unit;
    const int64_t p = (w - first[i] + unit_work / 2) / unit_work * unit;
    return job.first_pair[i] + std::min(p, job.first_pair[i + 1] - job.first_pair[i]);
  };
  const WorkSplit split(total, threads, pool_helpers_awake());
  parallel_for(split.tasks(), threads, [&](int64_t t, int) {
    const int64_t p0 = pair_at(split.start(t)), p1 = pair_at(split.start(t + 1));
    if (p0 < p1) run_pairs(p0, p1);
  });
}

}  // namespace

void packed_linear(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y,
                   int64_t ldy) {
  if (!packed_for(W)) throw std::invalid_argument("packed_linear: the view has no repacked weights of its own");
  const LinearArgs one{x, M, ldx, W, bias, y, ldy};
  run_packed_job(&one, 1, "packed_linear");
}

void packed_linear_set(const LinearArgs* set, int64_t n) { run_packed_job(set, n, "packed_linear_set"); }

void packed_linear_rows(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* bias, float* y,
                        int64_t ldy, int64_t r0, int64_t r1) {
  if (r0 < 0 || r1 > W.rows || r0 > r1 || r0 % kPackedRows != 0 || (r1 % kPackedRows != 0 && r1 != W.rows))
    throw std::invalid_argument("packed_linear_rows: rows [" + std::to_string(r0) + ", " + std::to_string(r1) +
                                ") of " + std::to_string(W.rows) + " do not start and end on groups of " +
                                std::to_string(kPackedRows));
  const uint8_t* packed = packed_for(W);
  if (!packed) throw std::invalid_argument("packed_linear_rows: the view has no repacked weights of its own");
  if (M <= 0 || r0 == r1) return;
  // The caller's own buffers (this runs on the calling thread only).
  thread_local std::vector<Int8Activations> acts;
  thread_local std::vector<PackedProblem> panels;
  const size_t n = static_cast<size_t>(packed_geometry(W.dtype, W.rows, W.cols).panels);
  if (acts.size() < n) acts.resize(n);
  panels.resize(n);
  panel_problems(packed, x, M, ldx, W, bias, y, ldy, acts.data(), panels.data());
  run_panels(panels.data(), static_cast<int64_t>(n), r0 / kPackedRows, (r1 + kPackedRows - 1) / kPackedRows);
}

}  // namespace hmoe::kernels
