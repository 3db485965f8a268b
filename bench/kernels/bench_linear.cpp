// bench_linear: linear() for every weight dtype and path at GPT-2-small shapes.
//
// For each product it prints the median time of --reps calls, GFLOP/s (2 M rows cols per
// call), the weight bytes read per second, that as a fraction of the streaming read
// bandwidth this program measures first, and the speed-up over the f32 scalar reference
// (linear_reference on f32 weights, M = 1; it runs at the same GFLOP/s at any M).
//
// Decode (M = 1) is bandwidth-bound, so every call reads a different copy of the weights,
// enough copies to exceed --footprint-mb (default 512 MiB, well past any L3): the figures
// are DRAM figures. Batches reuse one copy (they are compute-bound).
//
//   bench_linear [--threads N] [--reps N] [--footprint-mb MB] [--batch M] [--sweep]
//                [--cpu-clock] [--min] [--dtype T] [--shape RxC]
//     --sweep      instead: times the paths against each other over M = 1..256 on two
//                  shapes, to find where oneDNN overtakes Highway and where int8 stops paying
//     --cpu-clock  time with the thread's CPU clock, not the wall clock: on a busy shared
//                  machine this ignores the time the thread was descheduled (one thread only)
//     --min        report the fastest repetition instead of the median
//     --dtype, --shape  only that weight dtype / that shape (e.g. 768x3072) in the table
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tools/common/cpu_usage.h"
#include "tools/common/stream_read.h"
#include "quant/block_formats.h"
#include "runtime/kernels/linear_paths.h"
#include "runtime/kernels/onednn_linear.h"
#include "runtime/kernels/packed_int8.h"
#include "runtime/kernels/simd_target.h"

using namespace hmoe;
using kernels::LinearPath;

namespace {

struct Options {
  int threads = 0;
  int reps = 15;
  int64_t footprint_mb = 512;
  int64_t batch = 128;
  bool sweep = false;
  bool cpu_clock = false;
  bool min = false;
  std::string dtype;  // only this dtype (table)
  std::string shape;  // only shapes whose "rowsxcols" is this
  bool warm_all = false;
};

Options g_opt;

double now_s() {
  if (g_opt.cpu_clock) {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return g_opt.min ? v.front() : v[v.size() / 2];
}

// Median seconds of `reps` calls of fn(i) after one warm-up call.
double time_median(int reps, const std::function<void(int)>& fn) {
  fn(0);
  if (g_opt.warm_all) for (int i = 1; i <= reps; ++i) fn(i);  // e.g. oneDNN prepacks every copy once
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const double t0 = now_s();
    fn(i + 1);
    t.push_back(now_s() - t0);
  }
  return median(t);
}

struct Shape {
  int64_t rows, cols;
  const char* what;
};
const Shape kShapes[] = {
    {768, 3072, "mlp proj (out 768, in 3072)"},
    {3072, 768, "mlp fc"},
    {2304, 768, "attn qkv"},
    {50257, 768, "lm head"},
};

// Weights of one dtype in `copies` identical copies (encoding once; copying is cheap).
// q8_0 / q4_0 copies also have repacked twins (the packed path), as a loaded model does.
struct Weights {
  std::vector<std::vector<uint8_t>> copies;
  kernels::MatrixView view(int i, bool immutable = true) const {
    kernels::MatrixView v;
    v.dtype = dtype;
    v.rows = rows;
    v.cols = cols;
    v.data = copies[i % copies.size()].data();
    v.immutable = immutable;
    return v;
  }
  kernels::MatrixView packed_view(int i) const { return packed[i % packed.size()]; }
  DType dtype;
  int64_t rows, cols;
  std::shared_ptr<kernels::PackedStore> store;
  std::vector<kernels::MatrixView> packed;
};

Weights make_weights(DType t, int64_t rows, int64_t cols, int64_t min_total_bytes) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 0.02f);
  std::vector<float> w(rows * cols);
  for (auto& v : w) v = nd(rng);
  Weights W{{}, t, rows, cols, nullptr, {}};
  const int64_t bytes = storage_bytes(t, {rows, cols});
  W.copies.emplace_back(bytes);
  quant::encode_matrix(t, w.data(), rows, cols, W.copies[0].data());
  const int64_t n = std::max<int64_t>(1, (min_total_bytes + bytes - 1) / bytes);
  for (int64_t i = 1; i < n; ++i) W.copies.push_back(W.copies[0]);
  if (kernels::packed_matrix_bytes(t, rows, cols) > 0) {
    W.store = std::make_shared<kernels::PackedStore>();
    for (int64_t i = 0; i < n; ++i) W.packed.push_back(W.store->add(W.view(static_cast<int>(i))));
  }
  return W;
}

std::vector<float> random_x(int64_t n) {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> x(n);
  for (auto& v : x) v = nd(rng);
  return x;
}

double measure_bandwidth(const Options& o) { return kernels::measure_read_bandwidth(0, o.footprint_mb, o.reps); }

std::vector<LinearPath> paths_for(DType t, int64_t M) {
  std::vector<LinearPath> p{LinearPath::Float};
  if (dtype_is_quantized(t)) p.push_back(LinearPath::Int8);
  if (dtype_is_quantized(t)) p.push_back(LinearPath::Packed);
  if (t == DType::F32 || M > 1) p.push_back(LinearPath::OneDnn);  // bf16 inputs only for batches
  p.push_back(LinearPath::Auto);
  return p;
}

void run_table(const Options& o, double bw) {
  std::printf("\n%-28s %-5s %4s %-10s %9s %8s %7s %6s %8s\n", "shape (rows x cols)", "dtype", "M", "path", "ms",
              "GFLOP/s", "GB/s", "of bw", "x f32ref");
  for (const Shape& s : kShapes) {
    if (!o.shape.empty() && o.shape != std::to_string(s.rows) + "x" + std::to_string(s.cols)) continue;
    // The f32 scalar reference, once per shape (decode; same GFLOP/s at any M).
    const Weights ref = make_weights(DType::F32, s.rows, s.cols, 0);
    const auto x1 = random_x(s.cols);
    std::vector<float> y(s.rows * std::max<int64_t>(1, o.batch));
    const double t_ref = time_median(std::max(1, o.reps / 5), [&](int) {
      kernels::linear_reference(x1.data(), 1, s.cols, ref.view(0), nullptr, y.data(), s.rows);
    });
    const double ref_gflops = 2.0 * s.rows * s.cols / t_ref / 1e9;
    std::printf("%5lldx%-5lld %-16s %-5s %4d %-10s %9.3f %8.2f %7.2f %6s %8s\n", (long long)s.rows, (long long)s.cols,
                s.what, "f32", 1, "reference", t_ref * 1e3, ref_gflops, 4.0 * s.rows * s.cols / t_ref / 1e9, "", "1.0");
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
      if (!o.dtype.empty() && o.dtype != dtype_name(t)) continue;
      const Weights W = make_weights(t, s.rows, s.cols, o.footprint_mb << 20);
      const double wbytes = static_cast<double>(storage_bytes(t, {s.rows, s.cols}));
      for (int64_t M : {int64_t{1}, o.batch}) {
        const auto x = random_x(M * s.cols);
        for (LinearPath path : paths_for(t, M)) {
          const bool cycle = M == 1;  // decode reads a cold copy each call
          g_opt.warm_all = cycle && path == LinearPath::OneDnn;
          const double sec = time_median(o.reps, [&](int i) {
            const int c = cycle ? i : 0;
            kernels::linear_with_path(path, x.data(), M, s.cols, path == LinearPath::Packed ? W.packed_view(c) : W.view(c),
                                      nullptr, y.data(), s.rows);
          });
          g_opt.warm_all = false;
          const double gflops = 2.0 * M * s.rows * s.cols / sec / 1e9;
          const double gbs = wbytes / sec / 1e9;
          std::string name = kernels::linear_path_name(path);
          if (path == LinearPath::Auto)
            name = std::string("auto=") + kernels::linear_path_name(kernels::linear_choose_path(W.view(0), M));
          std::printf("%5lldx%-5lld %-16s %-5s %4lld %-10s %9.3f %8.2f %7.2f %5.0f%% %8.1f\n", (long long)s.rows,
                      (long long)s.cols, s.what, dtype_name(t), (long long)M, name.c_str(), sec * 1e3, gflops, gbs,
                      100.0 * gbs / bw, gflops / ref_gflops);
        }
      }
      for (const auto& c : W.copies) kernels::forget_cached_weights(c.data(), c.size());
    }
  }
}

void run_sweep(const Options& o) {
  const int64_t Ms[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256};
  for (const Shape& s : {kShapes[0], kShapes[1]}) {
    std::printf("\nsweep %lldx%lld: GFLOP/s per path; weights stay in cache (dnn: oneDNN prepacked, dnnpl / pl: oneDNN\n"
                "on the plain layout, q8 dnn: bf16 panels decoded per call)\n",
                (long long)s.rows, (long long)s.cols);
    std::printf("%4s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "M", "f32 hwy", "f32 dnn",
                "f32 dnnpl", "bf16 hwy", "bf16 dnn", "bf16 pl", "f16 hwy", "q8 float", "q8 int8", "q4 float", "q4 int8",
                "q8 dnn", "q8 packed", "q4 packed");
    const Weights f32 = make_weights(DType::F32, s.rows, s.cols, 0);
    const Weights bf16 = make_weights(DType::BF16, s.rows, s.cols, 0);
    const Weights f16 = make_weights(DType::F16, s.rows, s.cols, 0);
    const Weights q8 = make_weights(DType::Q8_0, s.rows, s.cols, 0);
    const Weights q4 = make_weights(DType::Q4_0, s.rows, s.cols, 0);
    for (int64_t M : Ms) {
      const auto x = random_x(M * s.cols);
      std::vector<float> y(M * s.rows);
      auto gf = [&](LinearPath p, const kernels::MatrixView& v) {
        const double sec = time_median(o.reps, [&](int) {
          kernels::linear_with_path(p, x.data(), M, s.cols, v, nullptr, y.data(), s.rows);
        });
        return 2.0 * M * s.rows * s.cols / sec / 1e9;
      };
      std::printf("%4lld %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n",
                  (long long)M,
                  gf(LinearPath::Float, f32.view(0)), gf(LinearPath::OneDnn, f32.view(0)),
                  gf(LinearPath::OneDnn, f32.view(0, false)), gf(LinearPath::Float, bf16.view(0)),
                  gf(LinearPath::OneDnn, bf16.view(0)), gf(LinearPath::OneDnn, bf16.view(0, false)),
                  gf(LinearPath::Float, f16.view(0)), gf(LinearPath::Float, q8.view(0)),
                  gf(LinearPath::Int8, q8.view(0)), gf(LinearPath::Float, q4.view(0)), gf(LinearPath::Int8, q4.view(0)),
                  gf(LinearPath::OneDnn, q8.view(0)), gf(LinearPath::Packed, q8.packed_view(0)),
                  gf(LinearPath::Packed, q4.packed_view(0)));
    }
  }
}

int64_t int_arg(int& i, int argc, char** argv) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "bench_linear: %s needs a value\n", argv[i]);
    std::exit(2);
  }
  char* end = nullptr;
  const long long v = std::strtoll(argv[++i], &end, 10);
  if (*end || v <= 0) {
    std::fprintf(stderr, "bench_linear: bad value '%s' for %s\n", argv[i], argv[i - 1]);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads") o.threads = static_cast<int>(int_arg(i, argc, argv));
    else if (a == "--reps") o.reps = static_cast<int>(int_arg(i, argc, argv));
    else if (a == "--footprint-mb") o.footprint_mb = int_arg(i, argc, argv);
    else if (a == "--batch") o.batch = int_arg(i, argc, argv);
    else if (a == "--sweep") o.sweep = true;
    else if (a == "--cpu-clock") o.cpu_clock = true;
    else if (a == "--min") o.min = true;
    else if (a == "--dtype" && i + 1 < argc) o.dtype = argv[++i];
    else if (a == "--shape" && i + 1 < argc) o.shape = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: bench_linear [--threads N] [--reps N] [--footprint-mb MB] [--batch M] [--sweep]\n"
                   "                    [--cpu-clock] [--min] [--dtype f32|f16|bf16|q8_0|q4_0] [--shape ROWSxCOLS]\n");
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  if (o.cpu_clock) o.threads = 1;
  if (o.threads > 0) omp_set_num_threads(o.threads);
  g_opt = o;
  std::printf("threads %d, SIMD target %s, oneDNN %s\n", omp_get_max_threads(), kernels::simd_active_target().c_str(),
              kernels::onednn_version().c_str());
  const tools::CpuSample load_before = tools::sample_cpu();
  if (o.sweep) {
    run_sweep(o);
  } else {
    const double bw = measure_bandwidth(o);
    std::printf("streaming read bandwidth: %.1f GB/s (%lld MiB buffer, %d threads)\n", bw, (long long)o.footprint_mb,
                omp_get_max_threads());
    run_table(o, bw);
  }
  tools::OtherCpu others;
  others.add(load_before, tools::sample_cpu());
  std::printf("\nother processes used %.0f%% of the CPUs during the run%s\n", 100.0 * others.fraction(),
              others.fraction() > 0.05 ? ": figures may be low, rerun on a quiet machine" : "");
  return 0;
}
