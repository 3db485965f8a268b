// The kernels' names for the scalar f16/bf16 conversions, which live in quant/ with the
// block formats they define (quant/ sits below runtime/ and cannot include it).
#pragma once
#include "quant/half.h"

namespace hmoe::kernels {
using quant::bf16_to_f32;
using quant::f16_to_f32;
using quant::f32_to_bf16;
using quant::f32_to_f16;
}  // namespace hmoe::kernels
