// Refusing results that are not numbers. A finite weight can still make an activation
// overflow (one flipped exponent bit turns 0.02 into 2.6e37): the logits then hold NaN
// or infinities, and a command would print them as results. Graphs check the residual
// stream after each block (a pass over T x d floats, nothing beside the block's weights)
// and the logits, and report the first place it happened as a bad model file.
#pragma once
#include <cstdint>
#include <string>

namespace hmoe {

// Index of the first NaN or infinity of x[0, n), or -1.
int64_t first_non_finite(const float* x, int64_t n);

// Throws FormatError (Status::BadFile) naming `file`, `where` ("block 3", "the logits") and the
// token row of the first non-finite value of the [rows, cols] x.
void check_finite(const float* x, int64_t rows, int64_t cols, const std::string& file, const std::string& where);

}  // namespace hmoe
