// The model quantizer: rewrites a .hmoe file with its matrices in another dtype.
//
// Which dtype each tensor gets, in this order:
//  1. Vectors stay f32, always: 1-D tensors, names ending in "bias", and the expert and
//     layer embeddings (blk.*.hyper.expert_embd, hyper.layer_embd); the runtime reads
//     them as f32 (formats/TENSORS.md). i32 tensors are copied as they are.
//  2. The user's rules (--keep PATTERN=TYPE), the first whose glob matches the name.
//  3. Defaults: blk.*.moe.gate (the router: its top-k choice is sensitive) and pos_embd
//     stay f32; tok_embd, which is also the LM head (tied), becomes q8_0 when the target
//     is a block type (q8_0 or q4_0): stored once, it serves the embedding rows and the
//     head, whose f32 copy would be most of a token's bytes at GPT-2's vocabulary (154 of
//     307 MB in q8). q8_0 even in q4_0 files: the head's error goes straight into the
//     logits. For f16 / bf16 targets it stays f32. --keep tok_embd=f32 (or =q4) overrides.
//     Measured on the shipped model (models/README.md): held-out perplexity +0.05% in q8.
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

namespace hmoe::quant {

struct QuantizeRule {
  std::string pattern;  // glob over tensor names: '*' any run of characters, '?' one
  DType dtype = DType::F32;
};

// "PATTERN=TYPE" -> rule; throws std::invalid_argument naming the text.
QuantizeRule parse_quantize_rule(const std::string& text);
// Glob match of the whole name.
bool glob_match(const std::string& pattern, const std::string& name);

struct QuantizeOptions {
  DType type = DType::Q8_0;
  std::vector<QuantizeRule> rules;
  // (fraction done in [0, 1], what is happening) as the work proceeds.
  std::function<void(double, const std::string&)> progress;
};

// The dtype a tensor gets, and why when it is not the obvious one.
struct TensorPlan {
  DType dtype = DType::F32;
  std::string reason;  // "vector", "rule PATTERN", "default keep", "cols % 32 != 0", ""
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

// Reads `in` (refusing a file it cannot read with hmoe::FormatError), writes `out`
// (through a temporary file), and returns what it did. `in` and `out` must differ.
QuantizeSummary quantize_model(const std::string& in, const std::string& out, const QuantizeOptions& o);

}  // namespace hmoe::quant
