// The runtime's side of the SentencePiece agreement test (spm_agreement.py): loads the
// tokenizer a .hmoe file carries (load_model_tokenizer), encodes every document of a
// corpus (corpus_format.py's layout; here a text may be any bytes) with the default
// options, decodes the ids twice (skipping special tokens, and writing them), and
// writes the three results for the Python side to compare with python3-sentencepiece.
// Also checks on every document that the strict encode refuses exactly the documents
// flagged as invalid UTF-8 and otherwise gives the same ids.
//
//   spm_roundtrip MODEL.hmoe CORPUS_BIN OUT_BIN
//
// OUT_BIN, per document: u32 n | n x i32 ids | u32 len | decode(skip) | u32 len | decode(all),
// little-endian. Prints the encode speed.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "runtime/text/model_tokenizer.h"
#include "tools/common/vocab_files.h"

namespace {

constexpr uint32_t kInvalidUtf8 = 4;  // spm_agreement.py's flag for a text that is not UTF-8

uint32_t read_u32(const std::string& data, size_t* pos) {
  if (*pos + 4 > data.size()) throw std::runtime_error("truncated corpus");
  uint32_t v;
  std::memcpy(&v, data.data() + *pos, 4);  // little-endian hosts only, as the test machines are
  *pos += 4;
  return v;
}

std::string read_bytes(const std::string& data, size_t* pos, uint32_t n) {
  if (*pos + n > data.size()) throw std::runtime_error("truncated corpus");
  std::string s = data.substr(*pos, n);
  *pos += n;
  return s;
}

void put_u32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: spm_roundtrip MODEL.hmoe CORPUS_BIN OUT_BIN\n");
    return 2;
  }
  try {
    const auto file = hmoe::ModelFile::open(argv[1]);
    const auto tok = hmoe::text::load_model_tokenizer(*file);
    if (!tok) throw std::runtime_error(std::string(argv[1]) + " has no tokenizer");
    const std::string data = hmoe::text::read_text_file(argv[2]);
    std::string out;
    size_t docs = 0, bytes = 0, tokens = 0, problems = 0;
    double seconds = 0;
    for (size_t pos = 0; pos < data.size(); ++docs) {
      const uint32_t flags = read_u32(data, &pos);
      const std::string name = read_bytes(data, &pos, read_u32(data, &pos));
      const std::string text = read_bytes(data, &pos, read_u32(data, &pos));
      hmoe::text::EncodeOptions eo;
      eo.allow_invalid_utf8 = true;
      const auto t0 = std::chrono::steady_clock::now();
      const std::vector<int32_t> ids = tok->encode(text, eo);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      bytes += text.size();
      tokens += ids.size();

      eo.allow_invalid_utf8 = false;
      bool refused = false;
      try {
        if (tok->encode(text, eo) != ids) {
          std::fprintf(stderr, "%s: the strict encode gives other ids\n", name.c_str());
          ++problems;
        }
      } catch (const hmoe::text::TokenizerError&) {
        refused = true;
      }
      if (refused != ((flags & kInvalidUtf8) != 0)) {
        std::fprintf(stderr, "%s: the strict encode %s it\n", name.c_str(), refused ? "refused" : "accepted");
        ++problems;
      }

      put_u32(&out, static_cast<uint32_t>(ids.size()));
      out.append(reinterpret_cast<const char*>(ids.data()), ids.size() * 4);
      for (bool skip : {true, false}) {
        hmoe::text::DecodeOptions d;
        d.skip_special_tokens = skip;
        const std::string text_back = tok->decode(ids, d);
        put_u32(&out, static_cast<uint32_t>(text_back.size()));
        out += text_back;
      }
    }
    std::FILE* f = std::fopen(argv[3], "wb");
    if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0)
      throw std::runtime_error(std::string("cannot write ") + argv[3]);
    std::printf("%s: %zu documents, %zu bytes, %zu tokens; encode %.1f MB/s (one thread)\n", argv[1], docs, bytes,
                tokens, bytes / 1e6 / (seconds > 0 ? seconds : 1e-9));
    return problems ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spm_roundtrip: %s\n", e.what());
    return 2;
  }
}
