// Shared helpers of the HyperExpert tests: tiny synthetic models and ways to run them.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/model/session.h"
#include "tools/common/synthetic_model.h"

namespace hmoe::test {

// Small dims that keep each test well under a second; b = 32 so block types can store tables.
SyntheticSpec tiny_spec(int64_t N, int64_t k, DType dtype = DType::F32);

// Bytes of one cache entry of `spec`'s model (for budgets of a few entries).
uint64_t entry_bytes(const SyntheticSpec& spec);

ModelOptions cache_options(uint64_t budget_bytes, bool precompute = true);

// Logits of every position of `prompt`, then of `decode` more tokens fed one at a time
// (each the argmax of the previous logits): [(prompt + decode) * V].
std::vector<float> run_logits(const std::shared_ptr<const Model>& model, HyperMode mode,
                              const std::vector<int32_t>& prompt, int decode, int n_threads = 1);

// Greedy continuation of `prompt` by `n` tokens.
std::vector<int32_t> greedy(const std::shared_ptr<const Model>& model, HyperMode mode,
                            const std::vector<int32_t>& prompt, int n);

// max |a - b| over rows, each scaled by the range of that row of `a` (docs/MODELS.md, "What correct means").
double rel_diff(const std::vector<float>& a, const std::vector<float>& b, int64_t row);

std::vector<int32_t> prompt_ids(int64_t n, int64_t vocab, uint64_t seed);

std::string temp_path(const std::string& name);

}  // namespace hmoe::test
