// The norms of the blocks, one row at a time in a fixed order, so results do not depend
// on threads or on how many rows a call holds.
#pragma once
#include <cstdint>

namespace hmoe {

// GPT-2's LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b over each of M rows of length d.
void layer_norm(const float* x, int64_t M, int64_t d, const float* w, const float* b, float eps, float* y);

// T5's RMS norm (no mean, no bias): y = w * (x * rsqrt(mean(x^2) + eps)). The mean of
// squares is accumulated in double, then rounded to f32 as PyTorch's fp32 mean is.
void rms_norm(const float* x, int64_t M, int64_t d, const float* w, float eps, float* y);

}  // namespace hmoe
