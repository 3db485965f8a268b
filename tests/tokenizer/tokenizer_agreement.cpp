// Compares our tokenizer with another implementation's token ids on a corpus
// (formats: corpus_format.py), checks that decoding gives every document back, and
// reports agreement and encode speed. Exit 0 only when every compared document matches.
//
//   tokenizer_agreement VOCAB_JSON MERGES_TXT CORPUS_BIN IDS_BIN LABEL [SKIP_FLAGS]
//
// Documents whose flags intersect SKIP_FLAGS are known to differ in the other
// implementation (not in GPT-2): they are not compared, only reported.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tools/common/vocab_files.h"

namespace {

struct Doc {
  uint32_t flags;
  std::string name, text;
};

uint32_t read_u32(const std::string& data, size_t* pos, const char* what) {
  if (*pos + 4 > data.size()) {
    std::fprintf(stderr, "truncated %s\n", what);
    std::exit(2);
  }
  uint32_t v;
  std::memcpy(&v, data.data() + *pos, 4);  // little-endian hosts only, as the test machines are
  *pos += 4;
  return v;
}

std::string read_bytes(const std::string& data, size_t* pos, uint32_t n, const char* what) {
  if (*pos + n > data.size()) {
    std::fprintf(stderr, "truncated %s\n", what);
    std::exit(2);
  }
  std::string s = data.substr(*pos, n);
  *pos += n;
  return s;
}

std::vector<Doc> read_corpus(const std::string& path) {
  const std::string data = hmoe::text::read_text_file(path);
  std::vector<Doc> docs;
  for (size_t pos = 0; pos < data.size();) {
    Doc d;
    d.flags = read_u32(data, &pos, "corpus");
    d.name = read_bytes(data, &pos, read_u32(data, &pos, "corpus"), "corpus");
    d.text = read_bytes(data, &pos, read_u32(data, &pos, "corpus"), "corpus");
    docs.push_back(std::move(d));
  }
  return docs;
}

std::vector<std::vector<int32_t>> read_ids(const std::string& path) {
  const std::string data = hmoe::text::read_text_file(path);
  std::vector<std::vector<int32_t>> out;
  for (size_t pos = 0; pos < data.size();) {
    const uint32_t n = read_u32(data, &pos, "ids");
    const std::string raw = read_bytes(data, &pos, n * 4, "ids");
    std::vector<int32_t> ids(n);
    std::memcpy(ids.data(), raw.data(), raw.size());
    out.push_back(std::move(ids));
  }
  return out;
}

std::string section_of(const std::string& name) {
  const size_t cut = name.find_first_of("/#");
  return name.substr(0, cut);
}

std::string show(const std::vector<int32_t>& ids, size_t from) {
  std::string s;
  for (size_t i = from; i < ids.size() && i < from + 8; ++i) s += std::to_string(ids[i]) + " ";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: tokenizer_agreement VOCAB_JSON MERGES_TXT CORPUS_BIN IDS_BIN LABEL [SKIP_FLAGS]\n");
    return 2;
  }
  const std::string label = argv[5];
  const uint32_t skip_flags = argc == 7 ? static_cast<uint32_t>(std::strtoul(argv[6], nullptr, 0)) : 0;
  std::unique_ptr<hmoe::text::BpeTokenizer> tok;
  std::vector<Doc> docs;
  std::vector<std::vector<int32_t>> expected;
  try {
    tok = hmoe::text::load_gpt2_tokenizer(argv[1], argv[2]);
    docs = read_corpus(argv[3]);
    expected = read_ids(argv[4]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  if (expected.size() != docs.size()) {
    std::fprintf(stderr, "%s has ids for %zu documents, the corpus has %zu\n", argv[4], expected.size(), docs.size());
    return 1;
  }

  // GPT-2's own encoder knows no special tokens: "<|endoftext|>" in text is text.
  hmoe::text::EncodeOptions options;
  options.special_tokens = false;

  // Speed: one pass with an empty cache, then the best of three with the cache it filled.
  // Both wall and thread CPU time: on a busy shared machine only the latter is steady.
  size_t total_bytes = 0;
  for (const Doc& d : docs) total_bytes += d.text.size();
  std::vector<std::vector<int32_t>> ours(docs.size());
  tok->clear_cache();
  struct Timing {
    double wall = 1e30, cpu = 1e30;
  } cold, warm;
  for (int pass = 0; pass < 4; ++pass) {
    timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < docs.size(); ++i) ours[i] = tok->encode(docs[i].text, options);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    const double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9;
    Timing& t = pass == 0 ? cold : warm;
    t.wall = std::min(t.wall, wall);
    t.cpu = std::min(t.cpu, cpu);
  }

  struct Tally {
    size_t docs = 0, bytes = 0, tokens = 0, mismatched = 0;
  };
  std::map<std::string, Tally> by_section;
  Tally all;
  size_t skipped = 0, skipped_differing = 0, round_trip_failures = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    const Doc& d = docs[i];
    if (tok->decode(ours[i]) != d.text) {
      ++round_trip_failures;
      std::printf("ROUND TRIP FAILED: document %zu (%s) does not decode back to its bytes\n", i, d.name.c_str());
    }
    const bool same = ours[i] == expected[i];
    if (d.flags & skip_flags) {
      ++skipped;
      skipped_differing += !same;
      std::printf("known %s quirk, not compared: %s: %s\n", label.c_str(), d.name.c_str(),
                  same ? "same ids here" : "ids differ, as expected");
      continue;
    }
    Tally& t = by_section[section_of(d.name)];
    for (Tally* x : {&t, &all}) {
      x->docs++;
      x->bytes += d.text.size();
      x->tokens += expected[i].size();
      x->mismatched += !same;
    }
    if (!same) {
      size_t k = 0;
      while (k < ours[i].size() && k < expected[i].size() && ours[i][k] == expected[i][k]) ++k;
      std::printf("MISMATCH: document %zu (%s), first difference at token %zu: ours [%s] %s [%s]\n", i,
                  d.name.c_str(), k, show(ours[i], k).c_str(), label.c_str(), show(expected[i], k).c_str());
    }
  }

  std::printf("%-10s %6s %10s %10s %10s\n", "section", "docs", "bytes", "tokens", "mismatched");
  for (const auto& [name, t] : by_section)
    std::printf("%-10s %6zu %10zu %10zu %10zu\n", name.c_str(), t.docs, t.bytes, t.tokens, t.mismatched);
  std::printf("%-10s %6zu %10zu %10zu %10zu\n", "total", all.docs, all.bytes, all.tokens, all.mismatched);
  std::printf("agreement with %s: %zu of %zu documents identical (%zu bytes, %zu tokens); %zu known-quirk documents "
              "not compared (%zu of them differ)\n",
              label.c_str(), all.docs - all.mismatched, all.docs, all.bytes, all.tokens, skipped, skipped_differing);
  std::printf("round trip: %zu of %zu documents decode to their exact bytes\n", docs.size() - round_trip_failures,
              docs.size());
  std::printf("encode speed, one thread, %zu bytes: empty cache %.1f MB/s (%.1f MB/s of CPU time), "
              "warm cache %.1f MB/s (%.1f MB/s of CPU time)\n",
              total_bytes, total_bytes / cold.wall / 1e6, total_bytes / cold.cpu / 1e6, total_bytes / warm.wall / 1e6,
              total_bytes / warm.cpu / 1e6);
  return all.mismatched == 0 && round_trip_failures == 0 ? 0 : 1;
}
