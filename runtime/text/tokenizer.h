// What every tokenizer of the runtime offers: text -> token ids -> text, the ids of the
// markers a model uses (end of text, start, padding) and which ids are special.
// Implemented by BpeTokenizer (GPT-2's byte-level BPE) and SentencePieceTokenizer (a
// SentencePiece model, T5's); model_tokenizer.h makes the one a .hmoe file carries.
//
// Thread safety: encode() and decode() may run concurrently on one tokenizer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.h"

namespace hmoe::text {

// Bad tokenizer data (a model file's table, vocab.json, merges.txt) is Status::BadFile,
// the default; text or ids a caller passed that cannot be encoded or decoded (invalid
// UTF-8 unless allowed, an id outside the vocabulary) are Status::InvalidArgument; a
// vocabulary file that cannot be read is Status::Io.
class TokenizerError : public Error {
 public:
  explicit TokenizerError(const std::string& message, Status status = Status::BadFile) : Error(status, message) {}
};

struct EncodeOptions {
  // Special tokens' text ("<|endoftext|>", "</s>", "<extra_id_0>") becomes their ids and
  // the text around them is encoded on its own. Off, it is tokenized as ordinary text,
  // as GPT-2's own encoder and sentencepiece's do.
  bool special_tokens = true;
  // Text that is not UTF-8 is refused (TokenizerError naming the byte and its offset)
  // unless this is set; what each tokenizer then does is in its own header.
  bool allow_invalid_utf8 = false;
  // Adds the markers the tokenizer's convention puts around every text: a SentencePiece
  // model of the file's table adds its bos before and its eos after the text (T5: `</s>`
  // after). GPT-2's convention adds none, so BpeTokenizer ignores this.
  bool add_bos_eos = true;
};

struct DecodeOptions {
  // Special tokens are left out; otherwise they are written as their text.
  bool skip_special_tokens = false;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // The ids of `text`. Throws TokenizerError on invalid UTF-8 (unless allowed).
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 2);
    encode_into(text, &out, options);
    return out;
  }
  // Appends to `out` (lets a caller reuse one buffer).
  void encode(std::string_view text, std::vector<int32_t>* out, const EncodeOptions& options = {}) const {
    encode_into(text, out, options);
  }

  // The text of the ids. Throws TokenizerError naming the position of an id outside
  // the vocabulary.
  std::string decode(const std::vector<int32_t>& ids, const DecodeOptions& options = {}) const {
    return decode_ids(ids.data(), ids.size(), options);
  }
  std::string decode(const int32_t* ids, size_t n, const DecodeOptions& options = {}) const {
    return decode_ids(ids, n, options);
  }

  // The bytes one token stands for when text is streamed token by token (may be part of
  // a UTF-8 character). Throws TokenizerError on a bad id.
  virtual const std::string& token_bytes(int32_t id) const = 0;
  // The token as the vocabulary spells it ("Ġthe" for GPT-2, "▁the" for SentencePiece).
  // Throws TokenizerError on a bad id.
  virtual const std::string& piece(int32_t id) const = 0;
  // Id of a vocabulary spelling, or -1.
  virtual int32_t piece_to_id(std::string_view piece) const = 0;

  // Ids are 0 .. vocab_size() - 1.
  virtual int32_t vocab_size() const = 0;
  // -1 when the tokenizer has no such marker.
  virtual int32_t eos_id() const = 0;
  virtual int32_t bos_id() const = 0;
  virtual int32_t pad_id() const = 0;
  virtual bool is_special(int32_t id) const = 0;
  virtual const std::vector<int32_t>& special_ids() const = 0;  // ascending
  // The schema's name of the kind: "GPT2_BPE", "SENTENCEPIECE".
  virtual const char* kind_name() const = 0;

 protected:
  Tokenizer() = default;
  virtual void encode_into(std::string_view text, std::vector<int32_t>* out, const EncodeOptions& options) const = 0;
  virtual std::string decode_ids(const int32_t* ids, size_t n, const DecodeOptions& options) const = 0;
};

// Throws TokenizerError when `text` is not UTF-8, naming the first bad byte and its offset.
void require_utf8(std::string_view text);

}  // namespace hmoe::text
