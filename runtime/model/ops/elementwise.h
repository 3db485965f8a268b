// Activation functions and the softmax, elementwise in a fixed order, so results do not
// depend on threads.
#pragma once
#include <cstdint>

namespace hmoe {

// GPT-2's gelu_new (tanh approximation), in place.
void gelu_new_inplace(float* x, int64_t n);

// max(x, 0), in place.
void relu_inplace(float* x, int64_t n);

// In-place softmax of n values.
void softmax_inplace(float* x, int64_t n);

}  // namespace hmoe
