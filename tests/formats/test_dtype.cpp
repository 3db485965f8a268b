#include <doctest/doctest.h>

#include "formats/dtype.h"

using namespace hmoe;

TEST_CASE("storage_bytes per dtype") {
  CHECK(storage_bytes(DType::F32, {3, 5}) == 60);
  CHECK(storage_bytes(DType::F16, {3, 5}) == 30);
  CHECK(storage_bytes(DType::BF16, {7}) == 14);
  CHECK(storage_bytes(DType::Q8_0, {2, 64}) == 128 + 4 * 2);
  CHECK(storage_bytes(DType::Q4_0, {2, 64}) == 64 + 4 * 2);
  CHECK(storage_bytes(DType::Q8_0, {2, 33}) == -1);  // not a multiple of the block
  CHECK(storage_bytes(DType::F32, {-1, 3}) == -1);
  CHECK(storage_bytes(DType::F32, {int64_t(1) << 40, int64_t(1) << 40}) == -1);  // overflow
}

TEST_CASE("dtype names round trip") {
  for (uint8_t raw = 0; raw <= 5; ++raw) {
    REQUIRE(dtype_is_known(raw));
    DType t;
    REQUIRE(dtype_from_name(dtype_name(static_cast<DType>(raw)), &t));
    CHECK(static_cast<uint8_t>(t) == raw);
  }
  CHECK_FALSE(dtype_is_known(6));
  DType t;
  CHECK_FALSE(dtype_from_name("q3", &t));
}
