// Hyper-parameters of a model: read from the file header and checked, by its
// architecture's declaration (arch.h), before any tensor shape is derived from them.
#pragma once
#include <cstdint>
#include <string>

#include "formats/hparams.h"

namespace hmoe {
class ModelFile;

// The file's hyper-parameters, checked by its architecture. Throws FormatError naming
// the file and the first value it does not accept (or an architecture this build lacks).
HParams hparams_from_file(const ModelFile& file);

// Limits this runtime accepts; beyond them a file is refused rather than trusted.
constexpr int64_t kMaxExperts = 64;
constexpr int64_t kMaxDim = 1 << 16;
constexpr int64_t kMaxVocab = 1 << 22;
constexpr int64_t kMaxPositions = 1 << 20;
constexpr int64_t kMaxLayers = 1024;

// Throws FormatError "hyper-parameter NAME = V is outside [LO, HI]".
void check_hparam_range(const char* name, int64_t v, int64_t lo, int64_t hi);
// layer_norm_epsilon in (0, 1).
void check_epsilon(const HParams& hp);
// The hypernetwork's dims, when the model has one.
void check_hyper_hparams(const HParams& hp);

}  // namespace hmoe
