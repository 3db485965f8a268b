// The marker of the CLI's files that reach below the public API.
//
// The commands stand on the public C++ API (runtime/api/hypermoe.hpp), as any
// application would: run, tokenize, logits and perplexity. Those that exist to work on
// the runtime's internals include this header, and only they may include internal
// headers (formats/, quant/, runtime/model/, runtime/text/, runtime/kernels/,
// tools/common/):
//   cmd_bench.cpp     the plain-MoE baseline (HyperMode::Off), session counters,
//                     synthetic models, decode traffic, SIMD and bandwidth figures
//   cmd_quantize.cpp  the model quantizer and HyperExpert baking
//   cmd_inspect.cpp   any well-formed file, complete model or not, tensor by tensor
//   cmd_version.cpp   the SIMD targets compiled in, oneDNN's version
//   inputs.cpp, output_file.cpp, internal.cpp
//                     formats/file_io.h and formats/atomic_file.h, so that text inputs
//                     are opened, and outputs written, exactly as model files are
// ctest cli.include_discipline (tests/cli/check_includes.cmake) fails when a file of
// tools/cli includes an internal header without including this one.
#pragma once
#include <functional>
#include <string>

namespace hmoe::cli {

// guarded() (args.h) for internal commands: the core's hmoe::Error (formats/error.h)
// carries the same categories as the API's hmoe_status and maps through the same table.
int guarded_internal(const std::string& command, const std::function<int()>& body);

}  // namespace hmoe::cli
