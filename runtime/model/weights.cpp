#include "runtime/model/weights.h"

#include "formats/model_file.h"
#include "runtime/model/selection_pattern.h"

namespace hmoe {

namespace {

class Binder {
 public:
  explicit Binder(const ModelFile& f) : f_(f) {}

  const TensorInfo& shaped(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorInfo& t = f_.get(name);
    if (t.shape != shape) {
      TensorInfo want;
      want.shape = shape;
      throw FormatError("'" + f_.source() + "': tensor '" + name + "' has shape " + t.shape_str() +
                        ", the hyper-parameters need " + want.shape_str());
    }
    return t;
  }

  // Vectors and small tables are read as f32 directly.
  const float* vec(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorInfo& t = shaped(name, shape);
    if (t.dtype != DType::F32)
      throw FormatError("'" + f_.source() + "': tensor '" + name + "' is " + dtype_name(t.dtype) +
                        ", must be f32");
    return reinterpret_cast<const float*>(t.data);
  }

  // Matrices (possibly stacked) may be any float or block type; the view is the first matrix.
  kernels::MatrixView mat(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorInfo& t = shaped(name, shape);
    if (t.dtype == DType::I32)
      throw FormatError("'" + f_.source() + "': tensor '" + name + "' is i32, must be a float or block type");
    kernels::MatrixView v;
    v.dtype = t.dtype;
    v.rows = shape[shape.size() - 2];
    v.cols = shape.back();
    v.data = t.data;
    // File-mapped weights never change while the model lives, so the kernels may keep
    // derived copies (oneDNN's prepacked layouts) keyed by address; ~Model forgets them.
    v.immutable = true;
    return v;
  }

 private:
  const ModelFile& f_;
};

}  // namespace

ModelWeights ModelWeights::from_file(const ModelFile& file, const HParams& hp) {
  Binder b(file);
  const int64_t d = hp.n_embd, N = hp.n_experts, F = hp.ffn_dim();
  ModelWeights w;
  w.tok_embd = b.mat("tok_embd", {hp.vocab_size, d});
  w.pos_embd = b.mat("pos_embd", {hp.n_positions, d});
  w.lnf_w = b.vec("ln_f.weight", {d});
  w.lnf_b = b.vec("ln_f.bias", {d});
  w.hyper_baked = file.header().hyper_baked;
  const bool need_generator = hp.use_hypernet && !w.hyper_baked;
  const int64_t e = hp.experts_embedding_dim, pd = hp.process_dim, hin = hp.hypernet_input;
  const int64_t H = hp.hypernetwork_bottleneck, le = hp.layer_emb_dim, ad = hp.adapter_dim;
  const uint64_t patterns = hp.use_hypernet ? binomial(hp.n_experts, hp.top_k) : 0;
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights L{};
    L.ln1_w = b.vec(p + "ln1.weight", {d});
    L.ln1_b = b.vec(p + "ln1.bias", {d});
    L.ln2_w = b.vec(p + "ln2.weight", {d});
    L.ln2_b = b.vec(p + "ln2.bias", {d});
    L.qkv = b.mat(p + "attn.qkv.weight", {3 * d, d});
    L.qkv_bias = b.vec(p + "attn.qkv.bias", {3 * d});
    L.attn_out = b.mat(p + "attn.out.weight", {d, d});
    L.attn_out_bias = b.vec(p + "attn.out.bias", {d});
    L.gate = b.mat(p + "moe.gate", {N, d});
    L.fc = b.mat(p + "moe.fc.weight", {N, F, d});
    L.fc_bias = b.vec(p + "moe.fc.bias", {N, F});
    L.proj = b.mat(p + "moe.proj.weight", {N, d, F});
    L.proj_bias = b.vec(p + "moe.proj.bias", {N, d});
    if (need_generator) {
      L.hyper.expert_embd = b.vec(p + "hyper.expert_embd", {N, e});
      L.hyper.proc0 = b.mat(p + "hyper.proc0.weight", {pd, e});
      L.hyper.proc0_bias = b.vec(p + "hyper.proc0.bias", {pd});
      L.hyper.proc2 = b.mat(p + "hyper.proc2.weight", {hin, pd});
      L.hyper.proc2_bias = b.vec(p + "hyper.proc2.bias", {hin});
    }
    if (hp.use_hypernet && w.hyper_baked) {
      const int64_t C = static_cast<int64_t>(patterns);
      L.baked.down = b.mat(p + "hyper.table.down", {C, ad, d});
      L.baked.down_bias = b.vec(p + "hyper.table.down_bias", {C, ad});
      L.baked.up = b.mat(p + "hyper.table.up", {C, d, ad});
      L.baked.up_bias = b.vec(p + "hyper.table.up_bias", {C, d});
    }
    w.layers.push_back(L);
  }
  if (need_generator) {
    HyperGeneratorWeights& g = w.generator;
    g.layer_embd = le > 0 ? b.vec("hyper.layer_embd", {hp.n_layer, le}) : nullptr;
    g.linear1 = b.mat("hyper.linear1.weight", {H, hin + le});
    g.linear1_bias = b.vec("hyper.linear1.bias", {H});
    g.weight_down = b.mat("hyper.weight_down.weight", {d * ad, H});
    g.weight_down_bias = b.vec("hyper.weight_down.bias", {d * ad});
    g.weight_up = b.mat("hyper.weight_up.weight", {ad * d, H});
    g.weight_up_bias = b.vec("hyper.weight_up.bias", {ad * d});
    g.bias_down = b.mat("hyper.bias_down.weight", {ad, H});
    g.bias_down_bias = b.vec("hyper.bias_down.bias", {ad});
    g.bias_up = b.mat("hyper.bias_up.weight", {d, H});
    g.bias_up_bias = b.vec("hyper.bias_up.bias", {d});
  }
  return w;
}

}  // namespace hmoe
