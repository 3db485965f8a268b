// A file a command writes (eval --predictions, logits -o), whole or not at all: the
// CLI's face of formats/atomic_file.h, so the commands that stand on the public API need
// not include it. The destination is checked when the object is made, before the
// command's work; nothing is left behind unless commit() succeeds. Failures throw
// hypermoe::Error (HMOE_ERR_IO) with the system's reason.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace hmoe {
class AtomicFile;
}

namespace hmoe::cli {

class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, size_t n);
  void commit();

 private:
  std::unique_ptr<AtomicFile> file_;
};

}  // namespace hmoe::cli
