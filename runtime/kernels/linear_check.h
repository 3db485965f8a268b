// Argument checks shared by linear() and its references (internal).
#pragma once
#include <cstdint>

#include "runtime/kernels/linear.h"

namespace hmoe::kernels {

// Throws std::invalid_argument naming the offending value.
void check_linear_args(const float* x, int64_t M, int64_t ldx, const MatrixView& W, const float* y, int64_t ldy);

}  // namespace hmoe::kernels
