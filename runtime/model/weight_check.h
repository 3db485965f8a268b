// Refusing weights that are not numbers: NaN or an infinity anywhere in a model file.
//
// Why refuse rather than warn: a NaN weight makes NaN every activation it touches, and
// attention and layer norm spread it to the whole residual stream, so the affected
// tokens' logits are NaN; an infinity becomes NaN at the first Inf - Inf or Inf * 0. No
// output of such a model means anything, and a warning leaves the user with garbage
// (or a sampler error many tokens later, when routing first reaches a bad expert).
// Such files come from a diverged training run or corruption, never from a converter
// working as intended, so refusing loses nothing a user could want.
//
// Cost: one pass over the bytes of every tensor (block types: over their f16 scales
// only, since the quants are integers), bounded by memory bandwidth; it also touches
// every page of a mapped file, which the first tokens would do anyway for all but
// rarely routed experts. That is why it sits behind ModelOptions rather than inside
// ModelFile, which stays a pure format check.
#pragma once
#include <cstdint>

namespace hmoe {
class ModelFile;
struct TensorInfo;

// Where the first non-finite value of a tensor lies.
struct NonFinite {
  int64_t index = -1;  // element index (block types: the index of the block's first weight)
  float value = 0.f;   // NaN, +inf or -inf (for block types: the scale's value)
  bool found() const { return index >= 0; }
};

// The first NaN or infinity of `t`: its values for f32, f16 and bf16, the block scales
// for q8_0 and q4_0; i32 tensors hold no floats and pass.
NonFinite find_non_finite(const TensorInfo& t);

// Throws FormatError naming the file, the first tensor (in file order) that holds a NaN
// or an infinity, the element's index within its shape, and the value.
void check_weights_finite(const ModelFile& file);

}  // namespace hmoe
