// The model quantizer: rewrites a .hmoe file with its matrices in another dtype.
//
// Which dtype each tensor gets, in this order (each tensor's class comes from the
// model's architecture, which the caller asks: tools/common/quantize_classes.h):
//  1. Vectors stay f32, always (norms, biases, expert and layer embeddings, position
//     bias tables): the runtime reads them as f32. i32 tensors are copied as they are.
//  2. The user's rules (--keep PATTERN=TYPE), the first whose glob matches the name.
//  3. Kept in f32 by default: the routers (their top-k choice is sensitive) and the
//     embeddings and LM head.
//  4. Every other matrix: the target type.
// A block type (q8_0, q4_0) needs the last dimension to be a multiple of 32; a matrix
// whose is not keeps its source dtype, and the summary says so.
// A tensor already in the dtype it is given is copied byte for byte; others are decoded
// to f32 and encoded (round to nearest; see block_formats.h for the scales).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "formats/dtype.h"

namespace hmoe {
class AtomicFile;
}

namespace hmoe::quant {

struct QuantizeRule {
  std::string pattern;  // glob over tensor names: '*' any run of characters, '?' one
  DType dtype = DType::F32;
};

// "PATTERN=TYPE" -> rule; throws hmoe::Error (InvalidArgument) naming the text.
QuantizeRule parse_quantize_rule(const std::string& text);
// Glob match of the whole name.
bool glob_match(const std::string& pattern, const std::string& name);

// What a tensor is to the quantizer (step 1, 3 or 4 above).
enum class TensorClass { Vector, KeepF32, Matrix };

struct QuantizeOptions {
  DType type = DType::Q8_0;
  // The class of each tensor of the input, by name (required).
  std::function<TensorClass(const std::string& name)> classify;
  std::vector<QuantizeRule> rules;
  // (fraction done in [0, 1], what is happening) as the work proceeds.
  std::function<void(double, const std::string&)> progress;
};

// The dtype a tensor gets, and why when it is not the obvious one.
struct TensorPlan {
  DType dtype = DType::F32;
  std::string reason;  // "vector", "rule PATTERN", "kept by default", "cols % 32 != 0", ""
};
TensorPlan plan_tensor(const std::string& name, const std::vector<int64_t>& shape, DType source,
                       const QuantizeOptions& o);

struct QuantizeSummary {
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    DType from, to;
    std::string reason;
  };
  std::vector<Entry> tensors;
  uint64_t tensor_bytes_before = 0, tensor_bytes_after = 0;
  uint64_t file_bytes_before = 0, file_bytes_after = 0;
};

// Reads `in` (IoError: it cannot be read; FormatError: it is not a model) and writes
// `out` through an AtomicFile (formats/atomic_file.h): the destination is checked before
// any work, and a failure leaves nothing behind. Returns what it did. `in` and `out`
// must differ (hmoe::Error, InvalidArgument).
QuantizeSummary quantize_model(const std::string& in, const std::string& out, const QuantizeOptions& o);
// The same into a caller's AtomicFile, left uncommitted (for a caller that processes
// the result further before it appears, as `hmoe quantize --bake-hyper` does).
QuantizeSummary quantize_model(const std::string& in, AtomicFile& out, const QuantizeOptions& o);

}  // namespace hmoe::quant
