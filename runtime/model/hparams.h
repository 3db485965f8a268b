// Hyper-parameters of a model: read from the file header and checked for consistency
// before any tensor shape is derived from them.
#pragma once
#include <cstdint>
#include <string>

#include "formats/hparams.h"

namespace hmoe {
class ModelFile;

// The file's hyper-parameters, checked. Throws FormatError naming the first
// inconsistent value (or an architecture this build does not run).
HParams hparams_from_file(const ModelFile& file);
// Throws FormatError naming the first inconsistent value.
void validate_hparams(const HParams& hp);

// Limits this runtime accepts; beyond them a file is refused rather than trusted.
constexpr int64_t kMaxExperts = 64;
constexpr int64_t kMaxDim = 1 << 16;
constexpr int64_t kMaxVocab = 1 << 22;
constexpr int64_t kMaxPositions = 1 << 20;
constexpr int64_t kMaxLayers = 1024;

}  // namespace hmoe
