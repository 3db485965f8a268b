#include "tools/common/json_string.h"

#include <cstdio>

#include "runtime/text/unicode.h"

namespace hmoe::text {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The four hex digits after "\u" at json[at]; throws when they are not there.
uint32_t read_hex4(std::string_view json, size_t at) {
  if (at + 4 > json.size()) throw JsonError("\\u escape needs four hex digits", at);
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    const int h = hex_value(json[at + i]);
    if (h < 0) throw JsonError("\\u escape needs four hex digits", at);
    v = v * 16 + static_cast<uint32_t>(h);
  }
  return v;
}

}  // namespace

void parse_json_string(std::string_view json, size_t* pos, std::string* out) {
  size_t i = *pos;
  if (i >= json.size() || json[i] != '"') throw JsonError("expected a string", i);
  const size_t open = i++;
  const auto* bytes = reinterpret_cast<const unsigned char*>(json.data());
  while (true) {
    if (i >= json.size()) throw JsonError("string is not closed", open);
    const unsigned char c = bytes[i];
    if (c == '"') break;
    if (c < 0x20) throw JsonError("raw control character in a string (must be escaped)", i);
    if (c >= 0x80) {
      const Utf8Char u = decode_utf8(bytes + i, bytes + json.size());
      if (!u.valid) throw JsonError("invalid UTF-8 in a string", i);
      out->append(json.data() + i, u.length);
      i += u.length;
      continue;
    }
    if (c != '\\') {
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (i + 1 >= json.size()) throw JsonError("string is not closed", open);
    const char e = json[i + 1];
    switch (e) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '/': out->push_back('/'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        uint32_t cp = read_hex4(json, i + 2);
        size_t consumed = 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) throw JsonError("lone low surrogate in \\u escape", i);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i + 8 > json.size() || json[i + 6] != '\\' || json[i + 7] != 'u')
            throw JsonError("high surrogate in \\u escape is not followed by a low surrogate", i);
          const uint32_t low = read_hex4(json, i + 8);
          if (low < 0xDC00 || low > 0xDFFF)
            throw JsonError("high surrogate in \\u escape is not followed by a low surrogate", i);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          consumed = 12;
        }
        append_utf8(cp, out);
        i += consumed;
        continue;
      }
      default:
        throw JsonError(std::string("unknown escape \\") + e, i);
    }
    i += 2;
  }
  *pos = i + 1;
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c >= 0x80) {
      const Utf8Char u = decode_utf8(p, end);
      if (u.valid) out.append(reinterpret_cast<const char*>(p), u.length);
      else out += "\\ufffd";
      p += u.length;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++p;
  }
  out.push_back('"');
  return out;
}

std::string line_and_column(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace hmoe::text
