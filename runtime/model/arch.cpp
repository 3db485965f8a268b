#include "runtime/model/arch.h"

#include "formats/model_file.h"
#include "runtime/model/gpt2/gpt2_arch.h"
#include "runtime/model/switch/switch_arch.h"
#include "runtime/model/weights.h"

namespace hmoe {

const char* tensor_role_name(TensorRole r) {
  switch (r) {
    case TensorRole::Embedding: return "embedding";
    case TensorRole::LmHead: return "lm_head";
    case TensorRole::Weight: return "weight";
    case TensorRole::Router: return "router";
    case TensorRole::Norm: return "norm";
    case TensorRole::Bias: return "bias";
    case TensorRole::PositionBias: return "position_bias";
    case TensorRole::Hypernet: return "hypernet";
    case TensorRole::HyperTable: return "hyper_table";
  }
  return "?";
}

namespace {

class Lister : public TensorSink {
 public:
  void matrix(const TensorDecl& d, kernels::MatrixView*) override { out.push_back(d); }
  void vector(const TensorDecl& d, const float**) override { out.push_back(d); }
  std::vector<TensorDecl> out;
};

}  // namespace

std::vector<TensorDecl> ArchSpec::tensors(const HParams& hp, bool baked) const {
  Lister l;
  std::unique_ptr<ModelWeightsBase> w = new_weights(hp);
  for_each_tensor(hp, baked, *w, l);
  return std::move(l.out);
}

void ArchSpec::check(const HParams& hp) const {
  validate(hp);
  const std::vector<std::string> used = hparam_names();
  const HParams defaults;
  for (const HParamField& f : hparam_fields()) {
    bool is_used = false;
    for (const std::string& u : used) is_used = is_used || u == f.name;
    if (!is_used && f.get(hp) != f.get(defaults))
      throw FormatError(std::string("hyper-parameter ") + f.name + " = " + hparam_value_text(f, hp) +
                        " means nothing to a " + name() + " model (it must be " + hparam_value_text(f, defaults) +
                        ")");
  }
}

std::vector<const ArchSpec*> all_archs() { return {&gpt2_arch(), &switch_arch()}; }

const ArchSpec& arch_spec(Arch a) {
  for (const ArchSpec* s : all_archs())
    if (s->id() == a) return *s;
  throw FormatError("unsupported architecture " + arch_name(a));
}

void check_model_file(const ModelFile& file) {
  const std::string where = "'" + file.source() + "': ";
  const ModelHeader& h = file.header();
  const ArchSpec* arch = nullptr;
  try {
    arch = &arch_spec(h.arch);
    arch->check(h.hparams);
  } catch (const FormatError& e) {
    throw FormatError(where + e.what());
  }
  std::unique_ptr<ModelWeightsBase> scratch = arch->new_weights(h.hparams);
  bind_weights(file, *arch, h.hparams, *scratch);
}

}  // namespace hmoe
