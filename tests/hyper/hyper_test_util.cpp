#include "hyper_test_util.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "runtime/model/hyper/hyper_expert.h"

namespace hmoe::test {

SyntheticSpec tiny_spec(int64_t N, int64_t k, DType dtype) {
  SyntheticSpec s;
  s.d = 64;
  s.L = 2;
  s.N = N;
  s.k = k;
  s.b = 32;
  // 32 makes every generator matrix but linear1 (hin + le columns) storable as a
  // block type, so q8/q4 models quantize the hypernetwork as real ones do.
  s.H = 32;
  s.V = 96;
  s.P = 64;
  s.heads = 4;
  s.e = 32;
  s.pd = 32;
  s.hin = 32;
  s.le = 4;
  s.dtype = dtype;
  s.seed = static_cast<uint64_t>(100 * N + k);
  // Large enough that each pattern's HyperExpert visibly moves the logits.
  s.hyper_std = 0.15f;
  s.std = 0.08f;
  return s;
}

uint64_t entry_bytes(const SyntheticSpec& s) {
  DType dt = s.dtype;
  return HyperExpertLayout::make(s.d, s.b, dt).bytes;
}

ModelOptions cache_options(uint64_t budget_bytes, bool precompute) {
  ModelOptions o;
  o.hyper_cache_bytes = budget_bytes;
  o.hyper_precompute = precompute;
  o.n_threads = 1;
  return o;
}

std::vector<float> run_logits(const std::shared_ptr<const Model>& model, HyperMode mode,
                              const std::vector<int32_t>& prompt, int decode, int n_threads) {
  SessionOptions so;
  so.n_threads = n_threads;
  so.hyper_mode = mode;
  Session s(model, so);
  const int64_t V = model->hparams().vocab_size, T = static_cast<int64_t>(prompt.size());
  std::vector<float> out(static_cast<size_t>((T + decode) * V));
  s.eval(prompt.data(), T, out.data(), /*all_positions=*/true);
  for (int i = 0; i < decode; ++i) {
    const float* last = out.data() + (T + i - 1) * V;
    const int32_t next = static_cast<int32_t>(std::max_element(last, last + V) - last);
    s.eval(&next, 1, out.data() + (T + i) * V);
  }
  return out;
}

std::vector<int32_t> greedy(const std::shared_ptr<const Model>& model, HyperMode mode,
                            const std::vector<int32_t>& prompt, int n) {
  SessionOptions so;
  so.n_threads = 1;
  so.hyper_mode = mode;
  Session s(model, so);
  const int64_t V = model->hparams().vocab_size;
  std::vector<float> logits(static_cast<size_t>(V));
  s.eval(prompt.data(), static_cast<int64_t>(prompt.size()), logits.data());
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(next);
    if (i + 1 < n) s.eval(&next, 1, logits.data());
  }
  return out;
}

double rel_diff(const std::vector<float>& a, const std::vector<float>& b, int64_t row) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (size_t r0 = 0; r0 < a.size(); r0 += static_cast<size_t>(row)) {
    const auto [mn, mx] = std::minmax_element(a.begin() + r0, a.begin() + r0 + row);
    const double range = std::max(1e-30, static_cast<double>(*mx - *mn));
    for (int64_t i = 0; i < row; ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(a[r0 + i]) - b[r0 + i]) / range);
  }
  return worst;
}

std::vector<int32_t> prompt_ids(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> ids;
  uint64_t x = seed * 2654435761u + 12345;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    ids.push_back(static_cast<int32_t>((x >> 33) % static_cast<uint64_t>(vocab)));
  }
  return ids;
}

std::string temp_path(const std::string& name) {
  return std::string(P_tmpdir) + "/hmoe_hyper_test_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace hmoe::test
