// GPT-2 HyperMoE's declaration: hyper-parameters, the tensor table (formats/TENSORS.md
// lists it with the checkpoint names it comes from), the graph.
#include "runtime/model/gpt2/gpt2_arch.h"

#include "runtime/model/gpt2/gpt2_graph.h"
#include "runtime/model/hparams.h"
#include "runtime/model/hyper/selection_pattern.h"

namespace hmoe {

namespace {

class Gpt2Arch : public ArchSpec {
 public:
  Arch id() const override { return Arch::Gpt2HyperMoE; }
  const char* name() const override { return "gpt2-hypermoe"; }

  std::vector<std::string> hparam_names() const override {
    return {"vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon", "n_experts",
            "top_k", "use_hypernet", "experts_embedding_dim", "process_dim", "hypernet_input",
            "hypernetwork_bottleneck", "layer_emb_dim", "adapter_dim", "d_kv", "d_ff"};
  }

  void validate(const HParams& hp) const override {
    check_hparam_range("vocab_size", hp.vocab_size, 1, kMaxVocab);
    check_hparam_range("n_positions", hp.n_positions, 1, kMaxPositions);
    check_hparam_range("n_embd", hp.n_embd, 1, kMaxDim);
    check_hparam_range("n_layer", hp.n_layer, 1, kMaxLayers);
    check_hparam_range("n_head", hp.n_head, 1, hp.n_embd);
    if (hp.n_embd % hp.n_head != 0)
      throw FormatError("n_embd " + std::to_string(hp.n_embd) + " is not a multiple of n_head " +
                        std::to_string(hp.n_head));
    // GPT-2's attention is [3d, d]: heads split the width exactly.
    if (hp.d_kv != 0 && hp.d_kv != hp.n_embd / hp.n_head)
      throw FormatError("d_kv " + std::to_string(hp.d_kv) + " is not n_embd / n_head = " +
                        std::to_string(hp.n_embd / hp.n_head) + " (GPT-2 blocks split n_embd into the heads)");
    check_hparam_range("d_ff", hp.d_ff, 0, kMaxDim);
    check_hparam_range("n_experts", hp.n_experts, 1, kMaxExperts);
    // A HyperExpert is made from the experts a token did NOT select: at least one must be
    // left (the converter refuses k == N for the same reason).
    check_hparam_range("top_k", hp.top_k, 1, hp.use_hypernet ? hp.n_experts - 1 : hp.n_experts);
    check_epsilon(hp);
    check_hyper_hparams(hp);
  }

  std::unique_ptr<ModelWeightsBase> new_weights(const HParams& hp) const override {
    auto w = std::make_unique<Gpt2Weights>();
    w->layers.resize(static_cast<size_t>(hp.n_layer));
    w->first_experts = &w->layers[0].moe.fc;
    HyperDims& dims = w->hyper_dims;
    dims.n_experts = hp.n_experts;
    dims.top_k = hp.top_k;
    dims.d = hp.n_embd;
    dims.b = hp.adapter_dim;
    dims.e = hp.experts_embedding_dim;
    dims.pd = hp.process_dim;
    dims.hin = hp.hypernet_input;
    dims.H = hp.hypernetwork_bottleneck;
    dims.le = hp.layer_emb_dim;
    if (hp.use_hypernet)
      for (int64_t i = 0; i < hp.n_layer; ++i) {
        Gpt2Layer& L = w->layers[static_cast<size_t>(i)];
        w->hyper_slots.push_back({&L.hyper, &w->generator, i, &L.baked, "layer " + std::to_string(i)});
      }
    return w;
  }

  void for_each_tensor(const HParams& hp, bool baked, ModelWeightsBase& aw, TensorSink& s) const override {
    Gpt2Weights& w = static_cast<Gpt2Weights&>(aw);
    w.hyper_baked = baked;
    const int64_t V = hp.vocab_size, P = hp.n_positions, d = hp.n_embd, N = hp.n_experts, F = hp.ffn_dim();
    const int64_t e = hp.experts_embedding_dim, pd = hp.process_dim, hin = hp.hypernet_input;
    const int64_t H = hp.hypernetwork_bottleneck, le = hp.layer_emb_dim, b = hp.adapter_dim, L = hp.n_layer;
    const bool generator = hp.use_hypernet && !baked, tables = hp.use_hypernet && baked;
    using R = TensorRole;
    using D = DecodeRead;
    auto mat = [&](std::string name, std::vector<int64_t> shape, R role, D read, kernels::MatrixView* dst,
                   int64_t reads = 1) { s.matrix({std::move(name), std::move(shape), true, role, read, false, reads}, dst); };
    auto vec = [&](std::string name, std::vector<int64_t> shape, R role, D read, const float** dst,
                   int64_t reads = 1) { s.vector({std::move(name), std::move(shape), false, role, read, false, reads}, dst); };

    s.matrix({"tok_embd", {V, d}, true, R::Embedding, D::OneRow, /*lm_head=*/true}, &w.tok_embd);
    mat("pos_embd", {P, d}, R::Embedding, D::OneRow, &w.pos_embd);
    for (int64_t i = 0; i < L; ++i) {
      Gpt2Layer& l = w.layers[static_cast<size_t>(i)];
      const std::string p = "blk." + std::to_string(i) + ".";
      vec(p + "ln1.weight", {d}, R::Norm, D::All, &l.ln1_w);
      vec(p + "ln1.bias", {d}, R::Bias, D::All, &l.ln1_b);
      mat(p + "attn.qkv.weight", {3 * d, d}, R::Weight, D::All, &l.qkv);
      vec(p + "attn.qkv.bias", {3 * d}, R::Bias, D::All, &l.qkv_bias);
      mat(p + "attn.out.weight", {d, d}, R::Weight, D::All, &l.attn_out);
      vec(p + "attn.out.bias", {d}, R::Bias, D::All, &l.attn_out_bias);
      vec(p + "ln2.weight", {d}, R::Norm, D::All, &l.ln2_w);
      vec(p + "ln2.bias", {d}, R::Bias, D::All, &l.ln2_b);
      mat(p + "moe.gate", {N, d}, R::Router, D::All, &l.moe.gate);
      mat(p + "moe.fc.weight", {N, F, d}, R::Weight, D::TopK, &l.moe.fc);
      vec(p + "moe.fc.bias", {N, F}, R::Bias, D::TopK, &l.moe.fc_bias);
      mat(p + "moe.proj.weight", {N, d, F}, R::Weight, D::TopK, &l.moe.proj);
      vec(p + "moe.proj.bias", {N, d}, R::Bias, D::TopK, &l.moe.proj_bias);
      if (generator) {
        vec(p + "hyper.expert_embd", {N, e}, R::Hypernet, D::UnselectedRows, &l.hyper.expert_embd);
        mat(p + "hyper.proc0.weight", {pd, e}, R::Hypernet, D::PerToken, &l.hyper.proc0);
        vec(p + "hyper.proc0.bias", {pd}, R::Hypernet, D::PerToken, &l.hyper.proc0_bias);
        mat(p + "hyper.proc2.weight", {hin, pd}, R::Hypernet, D::PerToken, &l.hyper.proc2);
        vec(p + "hyper.proc2.bias", {hin}, R::Hypernet, D::PerToken, &l.hyper.proc2_bias);
      }
      if (tables) {
        const int64_t C = static_cast<int64_t>(binomial(N, hp.top_k));
        mat(p + "hyper.table.down", {C, b, d}, R::HyperTable, D::OneEntry, &l.baked.down);
        vec(p + "hyper.table.down_bias", {C, b}, R::HyperTable, D::OneEntry, &l.baked.down_bias);
        mat(p + "hyper.table.up", {C, d, b}, R::HyperTable, D::OneEntry, &l.baked.up);
        vec(p + "hyper.table.up_bias", {C, d}, R::HyperTable, D::OneEntry, &l.baked.up_bias);
      }
    }
    vec("ln_f.weight", {d}, R::Norm, D::All, &w.lnf_w);
    vec("ln_f.bias", {d}, R::Bias, D::All, &w.lnf_b);
    if (generator) {
      // One generator for every layer: per token, each layer's HyperExpert reads it all.
      HyperGeneratorWeights& g = w.generator;
      vec("hyper.layer_embd", {L, le}, R::Hypernet, D::PerToken, &g.layer_embd);
      mat("hyper.linear1.weight", {H, hin + le}, R::Hypernet, D::PerToken, &g.linear1, L);
      vec("hyper.linear1.bias", {H}, R::Hypernet, D::PerToken, &g.linear1_bias, L);
      mat("hyper.weight_down.weight", {d * b, H}, R::Hypernet, D::PerToken, &g.weight_down, L);
      vec("hyper.weight_down.bias", {d * b}, R::Hypernet, D::PerToken, &g.weight_down_bias, L);
      mat("hyper.weight_up.weight", {b * d, H}, R::Hypernet, D::PerToken, &g.weight_up, L);
      vec("hyper.weight_up.bias", {b * d}, R::Hypernet, D::PerToken, &g.weight_up_bias, L);
      mat("hyper.bias_down.weight", {b, H}, R::Hypernet, D::PerToken, &g.bias_down, L);
      vec("hyper.bias_down.bias", {b}, R::Hypernet, D::PerToken, &g.bias_down_bias, L);
      mat("hyper.bias_up.weight", {d, H}, R::Hypernet, D::PerToken, &g.bias_up, L);
      vec("hyper.bias_up.bias", {d}, R::Hypernet, D::PerToken, &g.bias_up_bias, L);
    }
  }

  std::unique_ptr<Graph> make_graph(std::shared_ptr<const Model> model, const SessionOptions& o) const override {
    return std::make_unique<Gpt2Graph>(std::move(model), o);
  }
};

}  // namespace

const ArchSpec& gpt2_arch() {
  static const Gpt2Arch arch;
  return arch;
}

}  // namespace hmoe
