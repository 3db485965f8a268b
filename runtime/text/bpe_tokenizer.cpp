#include "runtime/text/bpe_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "runtime/text/byte_unicode.h"
#include "runtime/text/pretokenizer.h"
#include "runtime/text/unicode.h"

namespace hmoe::text {

namespace {

// A printable rendering of a vocabulary spelling or input bytes for error messages.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 60)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 60) out += "...";
  return out + "\"";
}

bool looks_special(const std::string& piece) {
  return piece.size() >= 4 && piece.compare(0, 2, "<|") == 0 && piece.compare(piece.size() - 2, 2, "|>") == 0;
}

// Why a spelling is not byte-level text, for the error message.
std::string why_not_bytes(std::string_view piece) {
  const auto* begin = reinterpret_cast<const unsigned char*>(piece.data());
  const auto* end = begin + piece.size();
  for (const auto* p = begin; p < end;) {
    const Utf8Char c = decode_utf8(p, end);
    const size_t off = static_cast<size_t>(p - begin);
    if (!c.valid) return "invalid UTF-8 at byte " + std::to_string(off);
    if (unicode_to_byte(c.code_point) < 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "character U+%04X at byte %zu is outside GPT-2's byte alphabet",
                    c.code_point, off);
      return buf;
    }
    p += c.length;
  }
  return "empty";
}

struct Candidate {
  int32_t rank;
  int32_t pos;  // symbol index of the left token; merges keep the left index
  int32_t left, right;
  // std heap functions build a max-heap; this makes the top the lowest (rank, pos).
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

struct MergeScratch {
  std::vector<int32_t> ids, prev, next;
  std::vector<Candidate> heap, batch;
};

}  // namespace

BpeTokenizer::BpeTokenizer(std::vector<std::string> vocab, const std::vector<std::string>& merges,
                           int32_t eos_id, int32_t bos_id)
    : vocab_(std::move(vocab)), merges_(merges.size()) {
  if (vocab_.empty()) throw TokenizerError("the vocabulary is empty");
  if (vocab_.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw TokenizerError("the vocabulary has " + std::to_string(vocab_.size()) + " entries, more than int32 ids allow");
  const int32_t n = static_cast<int32_t>(vocab_.size());
  for (int32_t id : {eos_id, bos_id})
    if (id < -1 || id >= n)
      throw TokenizerError("special token id " + std::to_string(id) + " is outside the vocabulary of " +
                           std::to_string(n) + " tokens");
  eos_id_ = eos_id;
  bos_id_ = bos_id;

  std::vector<int32_t> specials;
  for (int32_t id : {eos_id, bos_id})
    if (id >= 0) specials.push_back(id);
  for (int32_t id = 0; id < n; ++id)
    if (looks_special(vocab_[id])) specials.push_back(id);
  std::sort(specials.begin(), specials.end());
  specials.erase(std::unique(specials.begin(), specials.end()), specials.end());
  std::vector<bool> special_flag(vocab_.size(), false);
  for (int32_t id : specials) special_flag[id] = true;

  int32_t earlier = -1;
  const int32_t repeated = ids_by_piece_.build(&vocab_, &earlier);
  if (repeated >= 0)
    throw TokenizerError("vocabulary entries " + std::to_string(earlier) + " and " + std::to_string(repeated) +
                         " are both spelled " + quoted(vocab_[repeated]));
  bytes_.resize(vocab_.size());
  for (int32_t id = 0; id < n; ++id) {
    const std::string& piece = vocab_[id];
    if (piece.empty()) throw TokenizerError("vocabulary entry " + std::to_string(id) + " is empty");
    if (!piece_to_bytes(piece, &bytes_[id])) {
      // A special token may be written as plain text; it is matched and decoded as such.
      if (special_flag[id] && find_invalid_utf8(piece) == std::string_view::npos) {
        bytes_[id] = piece;
      } else {
        throw TokenizerError("vocabulary entry " + std::to_string(id) + " " + quoted(piece) +
                             " is not byte-level BPE text: " + why_not_bytes(piece));
      }
    }
  }

  for (int b = 0; b < 256; ++b) {
    const std::string piece = bytes_to_piece(std::string(1, static_cast<char>(b)));
    const int32_t id = piece_to_id(piece);
    if (id < 0) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "the vocabulary lacks the single-byte token for byte 0x%02X (spelled ", b);
      throw TokenizerError(buf + quoted(piece) + "), so some text could not be encoded");
    }
    byte_ids_[b] = id;
  }

  std::string product;  // reused: no allocation per merge once it has grown
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string_view m = merges[rank];
    const size_t sp = m.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == m.size() || m.find(' ', sp + 1) != std::string_view::npos)
      throw TokenizerError("merge " + std::to_string(rank) + " " + quoted(m) + " is not two tokens separated by one space");
    const std::string_view left = m.substr(0, sp), right = m.substr(sp + 1);
    product.assign(left);
    product.append(right);
    const int32_t l = piece_to_id(left), r = piece_to_id(right), merged = piece_to_id(product);
    if (l < 0 || r < 0 || merged < 0) {
      const std::string where = "merge " + std::to_string(rank) + " " + quoted(m);
      if (l < 0) throw TokenizerError(where + ": " + quoted(left) + " is not in the vocabulary");
      if (r < 0) throw TokenizerError(where + ": " + quoted(right) + " is not in the vocabulary");
      throw TokenizerError(where + ": the merged token " + quoted(product) + " is not in the vocabulary");
    }
    if (rank > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
      throw TokenizerError("too many merges (" + std::to_string(merges.size()) + ")");
    merges_.set(l, r, MergeTable::Merge{static_cast<int32_t>(rank), merged});
  }
  merge_count_ = merges.size();
  set_special_tokens(specials);
}

void BpeTokenizer::set_special_tokens(const std::vector<int32_t>& ids) {
  for (int32_t id : ids) check_id(id);
  special_ids_ = ids;
  std::sort(special_ids_.begin(), special_ids_.end());
  special_ids_.erase(std::unique(special_ids_.begin(), special_ids_.end()), special_ids_.end());
  is_special_.assign(vocab_.size(), false);
  specials_.clear();
  std::fill(std::begin(special_first_byte_), std::end(special_first_byte_), false);
  for (int32_t id : special_ids_) {
    is_special_[id] = true;
    specials_.push_back({bytes_[id], id});
    special_first_byte_[static_cast<unsigned char>(bytes_[id][0])] = true;
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
}

void BpeTokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                             std::to_string(vocab_size() - 1) + ")",
                         Status::InvalidArgument);
}

bool BpeTokenizer::is_special(int32_t id) const { return id >= 0 && id < vocab_size() && is_special_[id]; }

const std::string& BpeTokenizer::token_bytes(int32_t id) const {
  check_id(id);
  return bytes_[id];
}

const std::string& BpeTokenizer::piece(int32_t id) const {
  check_id(id);
  return vocab_[id];
}

int32_t BpeTokenizer::piece_to_id(std::string_view piece) const { return ids_by_piece_.find(piece); }

void BpeTokenizer::clear_cache() const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.clear();
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  encode(text, &out, options);
  return out;
}

void BpeTokenizer::encode(std::string_view text, std::vector<int32_t>* out, const EncodeOptions& options) const {
  if (!options.allow_invalid_utf8) {
    const size_t bad = find_invalid_utf8(text);
    if (bad != std::string_view::npos) {
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "input is not valid UTF-8: byte 0x%02X at offset %zu does not start a valid character",
                    static_cast<unsigned char>(text[bad]), bad);
      throw TokenizerError(buf, Status::InvalidArgument);
    }
  }
  if (!options.special_tokens || specials_.empty()) {
    encode_ordinary(text, out);
    return;
  }
  size_t segment = 0;
  for (size_t i = 0; i < text.size();) {
    const Special* hit = nullptr;
    if (special_first_byte_[static_cast<unsigned char>(text[i])]) {
      for (const Special& s : specials_)
        if (text.compare(i, s.text.size(), s.text) == 0) {
          hit = &s;
          break;
        }
    }
    if (!hit) {
      ++i;
      continue;
    }
    encode_ordinary(text.substr(segment, i - segment), out);
    out->push_back(hit->id);
    i += hit->text.size();
    segment = i;
  }
  encode_ordinary(text.substr(segment), out);
}

void BpeTokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>* out) const {
  Gpt2PreTokenizer pre(text);
  std::string_view piece;
  while (pre.next(&piece)) encode_piece(piece, out);
}

void BpeTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.size() == 1) {
    out->push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.lookup(piece, out)) return;
  }
  const size_t first = out->size();
  merge_piece(piece, out);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.insert(piece, out->data() + first, out->size() - first);
}

void BpeTokenizer::merge_piece(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.size() <= kShortPiece) merge_short_piece(piece, out);
  else merge_long_piece(piece, out);
}

// Short pieces (nearly all of them): arrays on the stack, a linear scan for the lowest
// rank, and one left-to-right pass that merges every occurrence of that pair. Quadratic,
// but for a couple of dozen symbols cheaper than any heap.
void BpeTokenizer::merge_short_piece(std::string_view piece, std::vector<int32_t>* out) const {
  constexpr int32_t kNone = std::numeric_limits<int32_t>::max();
  int32_t ids[kShortPiece], rank[kShortPiece], merged[kShortPiece];
  bool fresh[kShortPiece];
  int32_t n = static_cast<int32_t>(piece.size());
  auto rate = [&](int32_t i) {  // rank of the pair (i, i + 1)
    const MergeTable::Merge* m = merges_.find(ids[i], ids[i + 1]);
    rank[i] = m ? m->rank : kNone;
    merged[i] = m ? m->merged : -1;
  };
  for (int32_t i = 0; i < n; ++i) ids[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
  for (int32_t i = 0; i + 1 < n; ++i) rate(i);
  while (n > 1) {
    int32_t best = kNone;
    for (int32_t i = 0; i + 1 < n; ++i) best = std::min(best, rank[i]);
    if (best == kNone) break;
    // A rank names one pair, so "rank[i] == best" finds exactly its occurrences; skipping
    // past a merge keeps overlapping ones ("a a a") to the leftmost, as encoder.py does.
    int32_t w = 0;
    for (int32_t i = 0; i < n; ++w) {
      if (i + 1 < n && rank[i] == best) {
        ids[w] = merged[i];
        fresh[w] = true;
        i += 2;
      } else {
        ids[w] = ids[i];
        rank[w] = rank[i];
        merged[w] = merged[i];
        fresh[w] = false;
        i += 1;
      }
    }
    n = w;
    for (int32_t i = 0; i + 1 < n; ++i)
      if (fresh[i] || fresh[i + 1]) rate(i);
  }
  for (int32_t i = 0; i < n; ++i) out->push_back(ids[i]);
}

// Long pieces (a run of 10,000 letters, a base64 blob): a heap keyed by (rank, position)
// over a linked list of symbols, O(n log n).
void BpeTokenizer::merge_long_piece(std::string_view piece, std::vector<int32_t>* out) const {
  thread_local MergeScratch s;
  const int32_t n = static_cast<int32_t>(piece.size());
  s.ids.resize(n);
  s.prev.resize(n);
  s.next.resize(n);
  s.heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    s.ids[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
    s.prev[i] = i - 1;
    s.next[i] = i + 1 < n ? i + 1 : -1;
  }
  auto push_pair = [&](int32_t pos) {
    if (pos < 0) return;
    const int32_t right = s.next[pos];
    if (right < 0) return;
    if (const MergeTable::Merge* m = merges_.find(s.ids[pos], s.ids[right])) {
      s.heap.push_back({m->rank, pos, s.ids[pos], s.ids[right]});
      std::push_heap(s.heap.begin(), s.heap.end());
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);

  while (!s.heap.empty()) {
    // All occurrences of the lowest-ranked pair merge in one step, left to right, as in
    // encoder.py; taking the whole rank out first keeps that true even for merge lists
    // in which a pair's product ranks lower than the pair itself.
    const int32_t rank = s.heap.front().rank;
    s.batch.clear();
    while (!s.heap.empty() && s.heap.front().rank == rank) {
      std::pop_heap(s.heap.begin(), s.heap.end());
      s.batch.push_back(s.heap.back());
      s.heap.pop_back();
    }
    for (const Candidate& c : s.batch) {
      const int32_t right = s.next[c.pos];
      // Stale: an earlier merge consumed or changed one side (prev[] of a consumed
      // symbol is set to -2 below, so a dead left side fails the first test).
      if (s.prev[c.pos] == -2 || right < 0 || s.ids[c.pos] != c.left || s.ids[right] != c.right) continue;
      s.ids[c.pos] = merges_.find(c.left, c.right)->merged;
      const int32_t after = s.next[right];
      s.next[c.pos] = after;
      if (after >= 0) s.prev[after] = c.pos;
      s.prev[right] = -2;
      push_pair(s.prev[c.pos]);
      push_pair(c.pos);
    }
  }
  for (int32_t i = 0; i >= 0; i = s.next[i]) out->push_back(s.ids[i]);
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, const DecodeOptions& options) const {
  return decode(ids.data(), ids.size(), options);
}

std::string BpeTokenizer::decode(const int32_t* ids, size_t n, const DecodeOptions& options) const {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab_size())
      throw TokenizerError("token id " + std::to_string(id) + " at position " + std::to_string(i) +
                               " is outside the vocabulary (0.." + std::to_string(vocab_size() - 1) + ")",
                           Status::InvalidArgument);
    if (options.skip_special_tokens && is_special_[id]) continue;
    out += bytes_[id];
  }
  return out;
}

}  // namespace hmoe::text
