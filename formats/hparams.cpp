#include "formats/hparams.h"

#include <cstdio>

namespace hmoe {

const std::vector<HParamField>& hparam_fields() {
  static const std::vector<HParamField> fields = {
#define HMOE_HPARAM_ENTRY(kind, name, def, doc)                                           \
  {#name, HParamKind::kind, doc, [](const HParams& h) { return static_cast<double>(h.name); }, \
   [](HParams& h, double v) { h.name = static_cast<HMOE_HPARAM_TYPE_##kind>(v); }},
      HMOE_HPARAMS(HMOE_HPARAM_ENTRY)
#undef HMOE_HPARAM_ENTRY
  };
  return fields;
}

const HParamField* find_hparam(const std::string& name) {
  for (const HParamField& f : hparam_fields())
    if (name == f.name) return &f;
  return nullptr;
}

std::string hparam_value_text(const HParamField& f, const HParams& hp) {
  const double v = f.get(hp);
  switch (f.kind) {
    case HParamKind::Bool: return v != 0 ? "true" : "false";
    case HParamKind::Float: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", v);
      return buf;
    }
    case HParamKind::Int:
    case HParamKind::SInt: return std::to_string(static_cast<long long>(v));
  }
  return "?";
}

}  // namespace hmoe
