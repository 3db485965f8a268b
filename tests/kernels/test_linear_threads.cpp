// Results do not depend on the thread count (bit for bit), and on the Highway paths not
// on the batch either: input m of a batch gives the same bits as input m alone.
#include <doctest/doctest.h>
#include <omp.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "runtime/kernels/linear_paths.h"
#include "runtime/kernels/simd_target.h"

using namespace hmoe;
using kernels::LinearPath;

namespace {

struct ThreadsGuard {
  int saved = omp_get_max_threads();
  ~ThreadsGuard() { omp_set_num_threads(saved); }
};

std::vector<float> run(LinearPath path, const std::vector<float>& x, int64_t M, const kernels::MatrixView& W,
                       const std::vector<float>& bias, int threads) {
  omp_set_num_threads(threads);
  std::vector<float> y(M * W.rows);
  kernels::linear_with_path(path, x.data(), M, W.cols, W, bias.data(), y.data(), W.rows);
  return y;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("one and two threads give identical bits on every path and target") {
  ThreadsGuard guard;
  const int64_t rows = 67, cols = 1024;  // 67: row blocks of 8 and 4 leave a tail; big enough for a team
  for (const std::string& target : kernels::simd_supported_targets()) {
    kernels::simd_force_target(target);
    uint32_t seed = 10;
    for (DType t : test::weight_dtypes()) {
      auto W = test::random_matrix(t, rows, cols, seed++);
      const auto bias = test::random_vector(rows, seed++);
      for (LinearPath path : {LinearPath::Float, LinearPath::Int8, LinearPath::OneDnn}) {
        if (!kernels::linear_path_supports(path, W.view)) continue;
        if (path == LinearPath::OneDnn && target != kernels::simd_supported_targets().front()) continue;
        for (int64_t M : {1, 3, 16, 33}) {
          INFO(target, " ", std::string(dtype_name(t)), " ", std::string(kernels::linear_path_name(path)), " M=", M);
          const auto x = test::random_vector(M * cols, seed++);
          const auto y1 = run(path, x, M, W.view, bias, 1);
          const auto y2 = run(path, x, M, W.view, bias, 2);
          CHECK(same_bits(y1, y2));
        }
      }
    }
  }
  kernels::simd_force_target("auto");
}

TEST_CASE("Highway paths: an input's result does not depend on the batch around it") {
  const int64_t rows = 37, cols = 96, M = 33;
  for (const std::string& target : kernels::simd_supported_targets()) {
    kernels::simd_force_target(target);
    uint32_t seed = 300;
    for (DType t : test::weight_dtypes()) {
      auto W = test::random_matrix(t, rows, cols, seed++);
      const auto bias = test::random_vector(rows, seed++);
      const auto x = test::random_vector(M * cols, seed++);
      for (LinearPath path : {LinearPath::Float, LinearPath::Int8}) {
        if (!kernels::linear_path_supports(path, W.view)) continue;
        INFO(target, " ", std::string(dtype_name(t)), " ", std::string(kernels::linear_path_name(path)));
        std::vector<float> batch(M * rows);
        kernels::linear_with_path(path, x.data(), M, cols, W.view, bias.data(), batch.data(), rows);
        for (int64_t m = 0; m < M; ++m) {
          std::vector<float> one(rows);
          kernels::linear_with_path(path, x.data() + m * cols, 1, cols, W.view, bias.data(), one.data(), rows);
          INFO("input ", m);
          REQUIRE(std::memcmp(one.data(), batch.data() + m * rows, rows * sizeof(float)) == 0);
        }
      }
    }
  }
  kernels::simd_force_target("auto");
}
