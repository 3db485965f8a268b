// Test helper: take a protobuf message (a SentencePiece model) apart into its top-level
// fields and put it back together, so tests can replace one field (a model type, a
// piece, the normalization rules) and hand the result to the runtime. Fields of the
// length-delimited wire type keep their body; others keep their raw bytes.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hmoe::test {

struct ProtoField {
  uint32_t number;
  uint32_t wire_type;
  std::string value;  // the body (wire type 2) or the raw value bytes
};

inline uint64_t proto_varint(std::string_view* s) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (s->empty()) throw std::runtime_error("proto_edit: truncated varint");
    const auto b = static_cast<unsigned char>(s->front());
    s->remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  throw std::runtime_error("proto_edit: varint too long");
}

inline void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline std::vector<ProtoField> proto_fields(std::string_view s) {
  std::vector<ProtoField> out;
  while (!s.empty()) {
    const uint64_t key = proto_varint(&s);
    ProtoField f{static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7), {}};
    std::string_view before = s;
    switch (f.wire_type) {
      case 0: proto_varint(&s); f.value = std::string(before.substr(0, before.size() - s.size())); break;
      case 1: f.value = std::string(s.substr(0, 8)); s.remove_prefix(8); break;
      case 5: f.value = std::string(s.substr(0, 4)); s.remove_prefix(4); break;
      case 2: {
        const uint64_t n = proto_varint(&s);
        f.value = std::string(s.substr(0, n));
        s.remove_prefix(n);
        break;
      }
      default: throw std::runtime_error("proto_edit: unsupported wire type");
    }
    out.push_back(std::move(f));
  }
  return out;
}

inline void put_field(std::string* out, const ProtoField& f) {
  put_varint(out, (static_cast<uint64_t>(f.number) << 3) | f.wire_type);
  if (f.wire_type == 2) put_varint(out, f.value.size());
  *out += f.value;
}

inline std::string proto_join(const std::vector<ProtoField>& fields) {
  std::string out;
  for (const ProtoField& f : fields) put_field(&out, f);
  return out;
}

inline ProtoField bytes_field(uint32_t number, std::string value) { return {number, 2, std::move(value)}; }

inline ProtoField varint_field(uint32_t number, uint64_t v) {
  std::string raw;
  put_varint(&raw, v);
  return {number, 0, raw};
}

// Field numbers of SentencePiece's ModelProto and its parts.
constexpr uint32_t kSpPieces = 1, kSpTrainerSpec = 2, kSpNormalizerSpec = 3, kSpDenormalizerSpec = 5;
constexpr uint32_t kSpPieceText = 1, kSpTrainerModelType = 3, kSpNormalizerCharsmap = 2;

// The first field `number` of a message, or "" (tests know which fields exist).
inline std::string proto_get(std::string_view message, uint32_t number) {
  for (const ProtoField& f : proto_fields(message))
    if (f.number == number) return f.value;
  return {};
}

// Replaces (or appends) field `number` of the message with `f`.
inline std::string proto_set(std::string_view message, const ProtoField& f) {
  std::vector<ProtoField> fields = proto_fields(message);
  bool done = false;
  for (ProtoField& g : fields)
    if (g.number == f.number && !done) {
      g = f;
      done = true;
    }
  if (!done) fields.push_back(f);
  return proto_join(fields);
}

}  // namespace hmoe::test
