#include "runtime/text/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <limits>

#include "runtime/text/sentencepiece_model_check.h"

namespace hmoe::text {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, sentencepiece's space

// "<0xAB>" -> 0xAB (the spelling of byte pieces), or -1.
int byte_of_piece(const std::string& p) {
  if (p.size() != 6 || p.compare(0, 3, "<0x") != 0 || p[5] != '>') return -1;
  int v = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

std::string with_spaces(const std::string& piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
      out += ' ';
      i += kSpaceMark.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(std::string_view model, std::vector<std::string> added,
                                               int32_t eos_id, int32_t bos_id, int32_t pad_id)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  if (model.empty()) throw TokenizerError("the SentencePiece model is empty");
  check_sentencepiece_model(model);
  const auto status = sp_->LoadFromSerializedProto(model);
  if (!status.ok()) throw TokenizerError(std::string("the SentencePiece model does not load: ") + status.message());
  model_pieces_ = sp_->GetPieceSize();
  unk_id_ = sp_->unk_id();
  if (added.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() - model_pieces_))
    throw TokenizerError("too many added tokens (" + std::to_string(added.size()) + ")");
  const int32_t n = model_pieces_ + static_cast<int32_t>(added.size());

  pieces_.reserve(n);
  bytes_.reserve(n);
  for (int32_t id = 0; id < model_pieces_; ++id) pieces_.push_back(sp_->IdToPiece(id));
  for (size_t i = 0; i < added.size(); ++i) {
    const int32_t id = model_pieces_ + static_cast<int32_t>(i);
    std::string& t = added[i];
    if (t.empty()) throw TokenizerError("added token " + std::to_string(id) + " is empty");
    if (piece_to_id(t) >= 0)
      throw TokenizerError("added token " + std::to_string(id) + " \"" + t + "\" is already token " +
                           std::to_string(piece_to_id(t)));
    added_ids_.emplace(t, id);
    pieces_.push_back(std::move(t));
  }

  const std::pair<int32_t, const char*> markers[] = {{eos_id, "eos_id"}, {bos_id, "bos_id"}, {pad_id, "pad_id"}};
  for (const auto& [id, what] : markers)
    if (id < -1 || id >= n)
      throw TokenizerError(std::string(what) + " " + std::to_string(id) + " is outside the vocabulary (0.." +
                           std::to_string(n - 1) + ")");
  eos_id_ = eos_id;
  bos_id_ = bos_id;
  pad_id_ = pad_id;

  is_special_.assign(n, false);
  for (int32_t id = 0; id < n; ++id) {
    const bool special = id >= model_pieces_ || sp_->IsControl(id) || sp_->IsUnknown(id) || id == eos_id ||
                         id == bos_id || id == pad_id;
    is_special_[id] = special;
    if (special) {
      special_ids_.push_back(id);
      specials_.push_back({pieces_[id], id});
      special_first_byte_[static_cast<unsigned char>(pieces_[id][0])] = true;
      bytes_.push_back(pieces_[id]);
    } else if (sp_->IsByte(id) && byte_of_piece(pieces_[id]) >= 0) {
      bytes_.emplace_back(1, static_cast<char>(byte_of_piece(pieces_[id])));
    } else {
      bytes_.push_back(with_spaces(pieces_[id]));
    }
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

void SentencePieceTokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                             std::to_string(vocab_size() - 1) + ")",
                         Status::InvalidArgument);
}

bool SentencePieceTokenizer::is_special(int32_t id) const { return id >= 0 && id < vocab_size() && is_special_[id]; }

const std::string& SentencePieceTokenizer::token_bytes(int32_t id) const {
  check_id(id);
  return bytes_[id];
}

const std::string& SentencePieceTokenizer::piece(int32_t id) const {
  check_id(id);
  return pieces_[id];
}

int32_t SentencePieceTokenizer::piece_to_id(std::string_view piece) const {
  if (const auto it = added_ids_.find(std::string(piece)); it != added_ids_.end()) return it->second;
  const int id = sp_->PieceToId(piece);  // the unknown piece's id for a spelling it lacks
  if (id < 0 || id >= model_pieces_) return -1;
  return pieces_[id] == piece ? id : -1;
}

void SentencePieceTokenizer::encode_plain(std::string_view text, std::vector<int32_t>* out) const {
  if (text.empty()) return;
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  if (!status.ok())
    throw TokenizerError(std::string("sentencepiece could not encode the text: ") + status.message(),
                         Status::InvalidArgument);
  out->insert(out->end(), ids.begin(), ids.end());
}

void SentencePieceTokenizer::encode_into(std::string_view text, std::vector<int32_t>* out,
                                         const EncodeOptions& options) const {
  if (!options.allow_invalid_utf8) require_utf8(text);
  if (options.add_bos_eos && bos_id_ >= 0) out->push_back(bos_id_);
  if (!options.special_tokens || specials_.empty()) {
    encode_plain(text, out);
  } else {
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
      encode_plain(text.substr(segment, i - segment), out);
      out->push_back(hit->id);
      i += hit->text.size();
      segment = i;
    }
    encode_plain(text.substr(segment), out);
  }
  if (options.add_bos_eos && eos_id_ >= 0) out->push_back(eos_id_);
}

void SentencePieceTokenizer::decode_run(const std::vector<int>& run, std::string* out) const {
  if (run.empty()) return;
  std::string text;
  const auto status = sp_->Decode(run, &text);
  if (!status.ok())
    throw TokenizerError(std::string("sentencepiece could not decode the ids: ") + status.message(),
                         Status::InvalidArgument);
  *out += text;
}

std::string SentencePieceTokenizer::decode_ids(const int32_t* ids, size_t n, const DecodeOptions& options) const {
  std::string out;
  std::vector<int> run;
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab_size())
      throw TokenizerError("token id " + std::to_string(id) + " at position " + std::to_string(i) +
                               " is outside the vocabulary (0.." + std::to_string(vocab_size() - 1) + ")",
                           Status::InvalidArgument);
    if (!is_special_[id]) {
      run.push_back(id);
    } else if (!options.skip_special_tokens) {
      decode_run(run, &out);
      run.clear();
      out += pieces_[id];
    }
  }
  decode_run(run, &out);
  return out;
}

}  // namespace hmoe::text
