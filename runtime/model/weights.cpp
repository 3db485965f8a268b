#include "runtime/model/weights.h"

#include <set>

#include "formats/model_file.h"

namespace hmoe {

namespace {

// Binds each declared tensor to the file's, checking shape and dtype class.
class Binder : public TensorSink {
 public:
  explicit Binder(const ModelFile& f) : f_(f) {}

  void matrix(const TensorDecl& d, kernels::MatrixView* dst) override {
    const TensorInfo& t = shaped(d);
    if (t.dtype == DType::I32)
      throw FormatError("'" + f_.source() + "': tensor '" + d.name + "' is i32, must be a float or block type");
    kernels::MatrixView v;
    v.dtype = t.dtype;
    v.rows = d.shape.size() >= 2 ? d.shape[d.shape.size() - 2] : 1;
    v.cols = d.shape.back();
    v.data = t.data;
    // File-mapped weights never change while the model lives, so the kernels may keep
    // derived copies (oneDNN's prepacked layouts) keyed by address; ~Model forgets them.
    v.immutable = true;
    *dst = v;
  }

  // Vectors and small tables are read as f32 directly.
  void vector(const TensorDecl& d, const float** dst) override {
    const TensorInfo& t = shaped(d);
    if (t.dtype != DType::F32)
      throw FormatError("'" + f_.source() + "': tensor '" + d.name + "' is " + dtype_name(t.dtype) +
                        ", must be f32");
    *dst = reinterpret_cast<const float*>(t.data);
  }

  const std::set<std::string>& declared() const { return declared_; }

 private:
  const TensorInfo& shaped(const TensorDecl& d) {
    declared_.insert(d.name);
    const TensorInfo& t = f_.get(d.name);
    if (t.shape != d.shape) {
      TensorInfo want;
      want.shape = d.shape;
      throw FormatError("'" + f_.source() + "': tensor '" + d.name + "' has shape " + t.shape_str() +
                        ", the hyper-parameters need " + want.shape_str());
    }
    return t;
  }

  const ModelFile& f_;
  std::set<std::string> declared_;
};

}  // namespace

void bind_weights(const ModelFile& file, const ArchSpec& arch, const HParams& hp, ModelWeightsBase& w) {
  Binder b(file);
  arch.for_each_tensor(hp, file.header().hyper_baked, w, b);
  // A tensor the architecture does not declare means the file is not what its header
  // says (hypernetwork tensors in a plain-MoE file, a baked file that kept its
  // hypernetwork, a renamed tensor): refused rather than silently ignored.
  for (const TensorInfo& t : file.tensors())
    if (!b.declared().count(t.name))
      throw FormatError("'" + file.source() + "': tensor '" + t.name + "' is not part of a " + arch.name() +
                        " model with these hyper-parameters" +
                        (file.header().hyper_baked ? " (baked)" : "") + (hp.use_hypernet ? "" : " (plain MoE)"));
}

}  // namespace hmoe
