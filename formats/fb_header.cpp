#include "formats/fb_header.h"

namespace hmoe {

// The list in hparams.h and the schema's table must name the same fields: the last
// field's vtable slot counts the schema's (slot i sits at byte 4 + 2 i).
#define HMOE_HPARAM_COUNT(kind, name, def, doc) +1
static_assert(fb::HParams::VT_DECODER_START_TOKEN_ID == 4 + 2 * ((0 HMOE_HPARAMS(HMOE_HPARAM_COUNT)) - 1),
              "formats/hparams.h must list every field of table HParams in formats/hmoe.fbs");
#undef HMOE_HPARAM_COUNT

ModelHeader header_from_fb(const fb::Model& m) {
  ModelHeader h;
  h.arch = static_cast<Arch>(m.arch());
  if (const fb::HParams* p = m.hparams()) {
#define HMOE_HPARAM_READ(kind, name, def, doc) h.hparams.name = static_cast<HMOE_HPARAM_TYPE_##kind>(p->name());
    HMOE_HPARAMS(HMOE_HPARAM_READ)
#undef HMOE_HPARAM_READ
  }
  if (const fb::Tokenizer* t = m.tokenizer()) {
    TokenizerData& d = h.tokenizer;
    d.kind = static_cast<TokenizerKind>(t->kind());
    if (t->vocab()) {
      d.vocab.reserve(t->vocab()->size());
      for (const flatbuffers::String* s : *t->vocab()) d.vocab.push_back(s->str());
    }
    if (t->merges()) {
      d.merges.reserve(t->merges()->size());
      for (const flatbuffers::String* s : *t->merges()) d.merges.push_back(s->str());
    }
    d.eos_id = t->eos_id();
    d.bos_id = t->bos_id();
    d.pad_id = t->pad_id();
    if (t->sp_model()) d.sp_model.assign(t->sp_model()->begin(), t->sp_model()->end());
  }
  if (m.metadata())
    for (const fb::KeyValue* kv : *m.metadata())
      h.metadata.emplace_back(kv->key()->str(), kv->value() ? kv->value()->str() : std::string());
  h.hyper_baked = m.hyper_baked();
  return h;
}

void header_to_fb(const ModelHeader& h, fb::ModelT* out) {
  out->arch = static_cast<fb::Arch>(h.arch);
  out->hparams = std::make_unique<fb::HParamsT>();
  fb::HParamsT& p = *out->hparams;
#define HMOE_HPARAM_WRITE(kind, name, def, doc) p.name = static_cast<decltype(p.name)>(h.hparams.name);
  HMOE_HPARAMS(HMOE_HPARAM_WRITE)
#undef HMOE_HPARAM_WRITE
  out->tokenizer.reset();
  const TokenizerData& d = h.tokenizer;
  if (d.kind != TokenizerKind::None || !d.vocab.empty() || !d.sp_model.empty()) {
    out->tokenizer = std::make_unique<fb::TokenizerT>();
    fb::TokenizerT& t = *out->tokenizer;
    t.kind = static_cast<fb::TokenizerKind>(d.kind);
    t.vocab = d.vocab;
    t.merges = d.merges;
    t.eos_id = d.eos_id;
    t.bos_id = d.bos_id;
    t.pad_id = d.pad_id;
    t.sp_model = d.sp_model;
  }
  out->metadata.clear();
  for (const auto& kv : h.metadata) {
    auto e = std::make_unique<fb::KeyValueT>();
    e->key = kv.first;
    e->value = kv.second;
    out->metadata.push_back(std::move(e));
  }
  out->hyper_baked = h.hyper_baked;
}

}  // namespace hmoe
