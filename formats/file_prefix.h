// The fixed 64-byte prefix of every .hmoe file: where the header and the data lie.
#pragma once
#include <cstdint>

namespace hmoe {

constexpr char kFileMagic[8] = {'H', 'Y', 'P', 'R', 'M', 'O', 'E', '\0'};
// Version 1: the first layout. A reader refuses files with a newer version, since
// those may carry meaning it does not know; appended schema fields do not bump it.
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kDataSectionAlignment = 4096;  // page size, for mmap
constexpr uint64_t kTensorAlignment = 64;         // cache line and widest SIMD load

#pragma pack(push, 1)
struct FilePrefix {
  char magic[8];
  uint32_t format_version;
  uint32_t flags;           // reserved, 0
  uint64_t header_offset;   // 64
  uint64_t header_size;
  uint64_t data_offset;     // multiple of kDataSectionAlignment
  uint64_t data_size;
  uint64_t reserved[2];
};
#pragma pack(pop)
static_assert(sizeof(FilePrefix) == 64, "the prefix is 64 bytes on disk");

}  // namespace hmoe
