// A token's selection pattern is the SET of its top-k experts. The HyperExpert depends
// only on (layer, pattern), so patterns index the HyperExpert tables: the
// combinatorial number system maps the ascending experts c1 < c2 < ... < ck to
// sum_i C(c_i, i), a dense index in [0, C(N, k)).
#pragma once
#include <cstdint>

namespace hmoe {

// C(n, k), or UINT64_MAX when it does not fit.
uint64_t binomial(int64_t n, int64_t k);

// `experts` ascending, k entries, each < N.
uint64_t pattern_index(const int32_t* experts, int64_t k);

// Inverse of pattern_index: writes the k ascending experts of pattern `index`.
void pattern_experts(uint64_t index, int64_t n_experts, int64_t k, int32_t* experts);

}  // namespace hmoe
