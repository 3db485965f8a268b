// The quantizer's view of a model's tensors, from its architecture's table (arch.h):
// vectors stay f32, routers and embeddings are kept f32 unless a rule says otherwise,
// every other matrix takes the target type.
#pragma once
#include <functional>
#include <string>

#include "formats/model_file.h"
#include "quant/model_quantizer.h"

namespace hmoe {

// Checks `file` as every reader does (check_model_file: a file the runtime would refuse
// is refused before any work) and returns the class of each of its tensors.
std::function<quant::TensorClass(const std::string&)> quantize_classes(const ModelFile& file);

}  // namespace hmoe
