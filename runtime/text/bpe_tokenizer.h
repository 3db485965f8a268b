// GPT-2's byte-level BPE tokenizer: text -> token ids -> the same bytes back.
//
// Encoding, as GPT-2's encoder.py does it:
//  1. special tokens (when enabled) are cut out of the text and become their ids;
//  2. each stretch between them is split by Gpt2PreTokenizer (pretokenizer.h);
//  3. each piece's UTF-8 bytes start as one token per byte, and adjacent pairs merge by
//     rank: at every step the lowest-ranked pair present merges at all its
//     non-overlapping occurrences, left to right, until no pair has a rank.
// Step 3 runs on token ids: short pieces with a linear scan, long ones with a heap keyed
// by (rank, position), so a long piece costs O(n log n), not encoder.py's O(n^2); a
// per-tokenizer cache remembers finished pieces.
//
// Invalid UTF-8: by default encode() throws TokenizerError (InvalidArgument) naming the byte offset,
// because GPT-2 only ever saw text (Python str) and a prompt that is not UTF-8 is
// almost always a mistake (a Latin-1 file, a truncated buffer). With
// EncodeOptions::allow_invalid_utf8 the raw bytes are encoded instead: each invalid
// byte is one 'other' character for the pre-tokenizer (it joins neighbouring
// punctuation) and byte-level BPE spells it like any byte, so decode() returns the
// input exactly.
//
// Thread safety: encode() and decode() may run concurrently on one tokenizer (the
// cache has its own lock). set_special_tokens() may not run concurrently with them.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.h"
#include "runtime/text/merge_table.h"
#include "runtime/text/piece_cache.h"
#include "runtime/text/piece_index.h"

namespace hmoe::text {

// Bad tokenizer data (a model file's table, vocab.json, merges.txt) is Status::BadFile,
// the default; text or ids a caller passed that cannot be encoded or decoded are
// Status::InvalidArgument; a vocabulary file that cannot be read is Status::Io.
class TokenizerError : public Error {
 public:
  explicit TokenizerError(const std::string& message, Status status = Status::BadFile) : Error(status, message) {}
};

struct EncodeOptions {
  // Special tokens' text ("<|endoftext|>") becomes their ids. Off, it is tokenized as
  // ordinary text, as GPT-2's own encoder does.
  bool special_tokens = true;
  // See the file comment.
  bool allow_invalid_utf8 = false;
};

struct DecodeOptions {
  bool skip_special_tokens = false;
};

class BpeTokenizer {
 public:
  // vocab[id]: each token as vocab.json spells it (byte-to-unicode form, byte_unicode.h).
  // merges: "left right" in rank order, as in merges.txt (without its "#version" line).
  // eos_id / bos_id: -1 when absent. Special tokens default to eos, bos and every
  // entry spelled "<|...|>" (GPT-2's convention; its only one is <|endoftext|>).
  // Throws TokenizerError naming the bad entry: a spelling outside the byte alphabet,
  // a repeated spelling, a missing single-byte token, a merge whose parts or result
  // are not in the vocabulary, an id out of range.
  BpeTokenizer(std::vector<std::string> vocab, const std::vector<std::string>& merges,
               int32_t eos_id = -1, int32_t bos_id = -1);
  BpeTokenizer(const BpeTokenizer&) = delete;
  BpeTokenizer& operator=(const BpeTokenizer&) = delete;

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
  // Appends to `out` (lets a caller reuse one buffer).
  void encode(std::string_view text, std::vector<int32_t>* out, const EncodeOptions& options = {}) const;

  // Concatenated bytes of the tokens. Throws TokenizerError on an id outside the vocabulary.
  std::string decode(const std::vector<int32_t>& ids, const DecodeOptions& options = {}) const;
  std::string decode(const int32_t* ids, size_t n, const DecodeOptions& options = {}) const;
  // The raw bytes of one token (may be part of a UTF-8 character). Throws on a bad id.
  const std::string& token_bytes(int32_t id) const;
  // The token as vocab.json spells it ("Ġthe"). Throws on a bad id.
  const std::string& piece(int32_t id) const;
  // Id of a vocabulary spelling, or -1.
  int32_t piece_to_id(std::string_view piece) const;

  int32_t vocab_size() const { return static_cast<int32_t>(vocab_.size()); }
  size_t merge_count() const { return merge_count_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t bos_id() const { return bos_id_; }
  bool is_special(int32_t id) const;
  const std::vector<int32_t>& special_ids() const { return special_ids_; }
  // Replaces the default special tokens. Throws TokenizerError on a bad id.
  void set_special_tokens(const std::vector<int32_t>& ids);

  void clear_cache() const;

 private:
  void check_id(int32_t id) const;
  void encode_ordinary(std::string_view text, std::vector<int32_t>* out) const;
  void encode_piece(std::string_view piece, std::vector<int32_t>* out) const;
  void merge_piece(std::string_view piece, std::vector<int32_t>* out) const;
  static constexpr size_t kShortPiece = 32;
  void merge_short_piece(std::string_view piece, std::vector<int32_t>* out) const;
  void merge_long_piece(std::string_view piece, std::vector<int32_t>* out) const;

  std::vector<std::string> vocab_;        // spelling per id
  std::vector<std::string> bytes_;        // raw bytes per id
  PieceIndex ids_by_piece_;
  int32_t byte_ids_[256];
  MergeTable merges_;
  size_t merge_count_ = 0;
  int32_t eos_id_ = -1, bos_id_ = -1;

  struct Special {
    std::string text;
    int32_t id;
  };
  std::vector<int32_t> special_ids_;
  std::vector<Special> specials_;  // longest text first, so the longest match wins
  std::vector<bool> is_special_;
  bool special_first_byte_[256] = {};

  mutable std::mutex cache_mutex_;
  mutable PieceCache cache_;
};

}  // namespace hmoe::text
