// A SentencePiece unigram model (T5's spiece.model) through Debian's libsentencepiece:
// the library normalizes, segments and decodes; this class adds what a .hmoe file's
// tokenizer table says on top of the model, as Hugging Face's T5 tokenizer does:
//
//  - ids: the model's pieces are ids 0 .. model_pieces() - 1, as in the model; `added`
//    tokens follow (T5's 100 sentinels <extra_id_99> .. <extra_id_0>, ids 32000..32099);
//  - eos / bos / pad come from the file's table (T5: eos 1 `</s>`, pad 0 `<pad>`, no bos),
//    not from the model's trainer settings; with EncodeOptions::add_bos_eos (default),
//    bos is put before and eos after every encoded text, as T5's tokenizer appends `</s>`;
//  - special tokens: the model's control pieces (`<pad>`, `</s>`), its unknown piece
//    (`<unk>`), the file's eos / bos / pad and every added token. With
//    EncodeOptions::special_tokens (default) their text in the input becomes their id and
//    the stretches between are encoded separately, as Hugging Face's slow T5 tokenizer
//    encodes the pieces of text between special tokens (so each stretch gets the model's
//    leading-space mark); off, the whole text goes to sentencepiece as it is, as its own
//    encoder does;
//  - decoding: the ids between special tokens decode through sentencepiece (`▁` becomes
//    a space, the leading one of each stretch is dropped, byte pieces are joined into
//    characters); special tokens are written as their text, or left out with
//    DecodeOptions::skip_special_tokens, which gives sentencepiece's DecodeIds of the
//    rest. Unlike Hugging Face's decode, no "clean up" of spaces before punctuation is
//    applied: sentencepiece already restores the text's own spacing, and the clean-up
//    would change text that had such spaces.
//
// Invalid UTF-8 is refused unless EncodeOptions::allow_invalid_utf8; then sentencepiece
// puts U+FFFD in its normalized text for each invalid byte (its rule; Python's
// sentencepiece does the same with bytes input), which a model without byte fallback
// knows only as unknown, so such text does not decode back to the same bytes.
//
// The model bytes are checked before the library parses them (sentencepiece_model_check.h).
//
// Thread safety: encode() and decode() may run concurrently (sentencepiece's Encode and
// Decode are const and keep no state between calls).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/text/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace hmoe::text {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // model: the serialized ModelProto (the bytes of spiece.model). added: the tokens after
  // the model's pieces, in id order. eos_id / bos_id / pad_id: -1 when absent. Throws
  // TokenizerError when the model is corrupt or not unigram, an added token is empty or
  // already a piece, or an id is out of range.
  SentencePieceTokenizer(std::string_view model, std::vector<std::string> added, int32_t eos_id, int32_t bos_id,
                         int32_t pad_id);
  ~SentencePieceTokenizer() override;

  const std::string& token_bytes(int32_t id) const override;
  const std::string& piece(int32_t id) const override;
  int32_t piece_to_id(std::string_view piece) const override;

  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  int32_t eos_id() const override { return eos_id_; }
  int32_t bos_id() const override { return bos_id_; }
  int32_t pad_id() const override { return pad_id_; }
  bool is_special(int32_t id) const override;
  const std::vector<int32_t>& special_ids() const override { return special_ids_; }
  const char* kind_name() const override { return "SENTENCEPIECE"; }

  // The model's own pieces (the rest of vocab_size() are the added tokens).
  int32_t model_pieces() const { return model_pieces_; }
  int32_t unk_id() const { return unk_id_; }

 private:
  void encode_into(std::string_view text, std::vector<int32_t>* out, const EncodeOptions& options) const override;
  std::string decode_ids(const int32_t* ids, size_t n, const DecodeOptions& options) const override;
  void encode_plain(std::string_view text, std::vector<int32_t>* out) const;
  void decode_run(const std::vector<int>& run, std::string* out) const;
  void check_id(int32_t id) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  int32_t model_pieces_ = 0;
  int32_t unk_id_ = -1;
  int32_t eos_id_ = -1, bos_id_ = -1, pad_id_ = -1;
  std::vector<std::string> pieces_;  // per id: the spelling
  std::vector<std::string> bytes_;   // per id: what token_bytes() gives
  std::unordered_map<std::string, int32_t> added_ids_;

  struct Special {
    std::string text;
    int32_t id;
  };
  std::vector<int32_t> special_ids_;
  std::vector<Special> specials_;  // longest text first, so the longest match wins
  std::vector<bool> is_special_;
  bool special_first_byte_[256] = {};
};

}  // namespace hmoe::text
