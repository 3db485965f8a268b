// The canonical encodings: round trips within their stated error, the planar q8/q4 byte
// layout (decoded from hand-written bytes), and refusals of unencodable weights.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <omp.h>

#include "quant/block_formats.h"
#include "quant/half.h"

using namespace hmoe;

namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

std::vector<float> round_trip(DType t, const std::vector<float>& w, int64_t rows, int64_t cols) {
  std::vector<uint8_t> bytes(storage_bytes(t, {rows, cols}));
  quant::encode_matrix(t, w.data(), rows, cols, bytes.data());
  std::vector<float> back(rows * cols);
  quant::decode_matrix(t, bytes.data(), rows, cols, back.data());
  return back;
}

double rel_rms_error(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0, s = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    e += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    s += double(a[i]) * a[i];
  }
  return std::sqrt(e / s);
}

}  // namespace

TEST_CASE("f32 is exact; f16 and bf16 round to nearest (half an ulp)") {
  const auto w = gaussian(4096, 1);
  CHECK(round_trip(DType::F32, w, 64, 64) == w);
  const auto h = round_trip(DType::F16, w, 64, 64);
  const auto b = round_trip(DType::BF16, w, 64, 64);
  for (size_t i = 0; i < w.size(); ++i) {
    // Normal range: relative half-ulp of 2^-11 (f16) and 2^-8 (bf16).
    CHECK(std::fabs(h[i] - w[i]) <= std::ldexp(std::fabs(w[i]), -11) + 3e-8f);
    CHECK(std::fabs(b[i] - w[i]) <= std::ldexp(std::fabs(w[i]), -8));
  }
  // Representable values survive exactly; ties go to even.
  CHECK(quant::f16_to_f32(quant::f32_to_f16(1.5f)) == 1.5f);
  CHECK(quant::f32_to_f16(1.0f + std::ldexp(1.f, -11)) == quant::f32_to_f16(1.0f));  // tie -> even
  CHECK(quant::bf16_to_f32(quant::f32_to_bf16(-2.f)) == -2.f);
}

TEST_CASE("q8_0: scale = max|w| / 127 in f16, every weight within half a step") {
  const int64_t rows = 8, cols = 256;
  const auto w = gaussian(rows * cols, 2);
  std::vector<uint8_t> bytes(storage_bytes(DType::Q8_0, {rows, cols}));
  quant::encode_matrix(DType::Q8_0, w.data(), rows, cols, bytes.data());
  const uint16_t* scales = reinterpret_cast<const uint16_t*>(bytes.data() + rows * cols);
  std::vector<float> back(rows * cols);
  quant::decode_matrix(DType::Q8_0, bytes.data(), rows, cols, back.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(w[r * cols + b * 32 + j]));
      const float d = quant::f16_to_f32(scales[r * (cols / 32) + b]);
      CHECK(d == quant::f16_to_f32(quant::f32_to_f16(amax / 127.f)));
      for (int j = 0; j < 32; ++j) {
        const int64_t i = r * cols + b * 32 + j;
        // Half a step, plus the clamp when the f16 scale rounded down.
        CHECK(std::fabs(back[i] - w[i]) <= 0.5f * d + std::fabs(amax - 127.f * d) + 1e-7f);
      }
    }
  CHECK(rel_rms_error(w, back) < 0.006);
}

TEST_CASE("q4_0: better than ggml's max/-8 scale on Gaussian weights") {
  const int64_t rows = 64, cols = 512;
  const auto w = gaussian(rows * cols, 3);
  const auto back = round_trip(DType::Q4_0, w, rows, cols);
  // ggml's choice, for comparison: d = m / -8 (m the signed max-magnitude weight).
  std::vector<float> ggml(w.size());
  for (int64_t b = 0; b < rows * cols / 32; ++b) {
    float m = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(w[b * 32 + j]) > std::fabs(m)) m = w[b * 32 + j];
    const float d = quant::f16_to_f32(quant::f32_to_f16(m / -8.f));
    for (int j = 0; j < 32; ++j) {
      const float q = d == 0 ? 0 : std::fmin(7.f, std::fmax(-8.f, std::nearbyint(w[b * 32 + j] / d)));
      ggml[b * 32 + j] = q * d;
    }
  }
  const double ours = rel_rms_error(w, back), theirs = rel_rms_error(w, ggml);
  MESSAGE("q4_0 relative RMS error: ours ", ours, ", ggml max/-8 ", theirs);
  CHECK(ours < theirs);
  CHECK(ours < 0.085);
}

TEST_CASE("planar layout: quants of every row, then f16 scales; q4 nibbles split low=j, high=j+16") {
  // Two rows of 32: q8 quants 64 bytes, then 2 scales.
  std::vector<uint8_t> q8(64 + 4);
  for (int i = 0; i < 64; ++i) q8[i] = static_cast<uint8_t>(static_cast<int8_t>(i - 32));
  const uint16_t s8[2] = {quant::f32_to_f16(0.5f), quant::f32_to_f16(2.f)};
  std::memcpy(q8.data() + 64, s8, 4);
  std::vector<float> out(32);
  quant::decode_row(DType::Q8_0, q8.data(), 2, 32, 1, out.data());
  CHECK(out[0] == (32 - 32) * 2.f);
  CHECK(out[31] == (63 - 32) * 2.f);

  // q4: row of 32 = 16 bytes; byte j = (q[j] + 8) | (q[j + 16] + 8) << 4.
  std::vector<uint8_t> q4(16 + 2);
  for (int j = 0; j < 16; ++j) q4[j] = static_cast<uint8_t>((j & 15) | ((15 - j) << 4));
  const uint16_t s4 = quant::f32_to_f16(0.25f);
  std::memcpy(q4.data() + 16, &s4, 2);
  quant::decode_row(DType::Q4_0, q4.data(), 1, 32, 0, out.data());
  for (int j = 0; j < 16; ++j) {
    CHECK(out[j] == (j - 8) * 0.25f);
    CHECK(out[j + 16] == (15 - j - 8) * 0.25f);
  }
  // The encoder writes that layout: a ramp lands in order.
  std::vector<float> ramp(32);
  for (int j = 0; j < 32; ++j) ramp[j] = (j % 16) - 8.f;
  uint8_t packed[16];
  uint16_t scale;
  quant::quantize_block_q4(ramp.data(), packed, &scale);
  CHECK(quant::f16_to_f32(scale) == 1.f);
  for (int j = 0; j < 16; ++j) CHECK(packed[j] == static_cast<uint8_t>(j | (j << 4)));
}

TEST_CASE("all-zero blocks encode to zero scale and zero weights") {
  std::vector<float> z(64, 0.f);
  for (DType t : {DType::Q8_0, DType::Q4_0}) CHECK(round_trip(t, z, 2, 32) == z);
}

TEST_CASE("unencodable weights are refused, naming row and column") {
  std::vector<float> w(64, 1.f);
  w[37] = NAN;
  for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    std::vector<uint8_t> out(storage_bytes(t, {2, 32}));
    try {
      quant::encode_matrix(t, w.data(), 2, 32, out.data());
      FAIL("no error for ", std::string(dtype_name(t)));
    } catch (const quant::EncodeError& e) {
      const std::string m = e.what();
      CHECK(m.find("row 1, column 5") != std::string::npos);
    }
  }
  w[37] = 1e9f;  // beyond f16, and beyond a q8 scale
  std::vector<uint8_t> out(storage_bytes(DType::F16, {2, 32}));
  CHECK_THROWS_AS(quant::encode_matrix(DType::F16, w.data(), 2, 32, out.data()), quant::EncodeError);
  out.resize(storage_bytes(DType::Q8_0, {2, 32}));
  CHECK_THROWS_AS(quant::encode_matrix(DType::Q8_0, w.data(), 2, 32, out.data()), quant::EncodeError);
  CHECK_THROWS_AS(quant::encode_matrix(DType::Q8_0, w.data(), 2, 40, out.data()), std::invalid_argument);
}

TEST_CASE("encoding does not depend on the thread count") {
  const int64_t rows = 512, cols = 256;  // large enough for a thread team
  const auto w = gaussian(rows * cols, 4);
  for (DType t : {DType::F16, DType::Q8_0, DType::Q4_0}) {
    std::vector<uint8_t> a(storage_bytes(t, {rows, cols})), b(a.size());
    omp_set_num_threads(1);
    quant::encode_matrix(t, w.data(), rows, cols, a.data());
    omp_set_num_threads(2);
    quant::encode_matrix(t, w.data(), rows, cols, b.data());
    omp_set_num_threads(1);
    CHECK(a == b);
  }
}
