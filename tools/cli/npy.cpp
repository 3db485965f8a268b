// Uses formats/atomic_file.h (an internal header, see tools/cli/internal.h): the .npy
// is written like every other file of the project, whole or not at all.
#include "tools/cli/npy.h"

#include "formats/atomic_file.h"
#include "tools/cli/internal.h"

namespace hmoe::cli {

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? ", " : "");
    n *= shape[i];
  }
  dict += "), }";
  // Magic (6) + version (2) + header length (2) + dict + newline: a multiple of 64.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  const unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                  static_cast<unsigned char>(dict.size() & 0xFF),
                                  static_cast<unsigned char>(dict.size() >> 8)};
  AtomicFile f(path);
  f.write(head, sizeof head);
  f.write(dict.data(), dict.size());
  f.write(data, sizeof(float) * static_cast<size_t>(n));
  f.commit();
}

}  // namespace hmoe::cli
