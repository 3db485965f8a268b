#include "tools/common/quantize_classes.h"

#include <map>
#include <memory>

#include "runtime/model/arch.h"

namespace hmoe {

std::function<quant::TensorClass(const std::string&)> quantize_classes(const ModelFile& file) {
  check_model_file(file);
  const ModelHeader& h = file.header();
  auto classes = std::make_shared<std::map<std::string, quant::TensorClass>>();
  for (const TensorDecl& t : arch_spec(h.arch).tensors(h.hparams, h.hyper_baked)) {
    quant::TensorClass c = quant::TensorClass::Matrix;
    if (!t.matrix) c = quant::TensorClass::Vector;
    else if (t.role == TensorRole::Router || t.role == TensorRole::Embedding || t.role == TensorRole::LmHead)
      c = quant::TensorClass::KeepF32;
    (*classes)[t.name] = c;
  }
  return [classes](const std::string& name) { return classes->at(name); };
}

}  // namespace hmoe
