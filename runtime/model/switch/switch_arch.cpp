// Switch Transformer HyperMoE's declaration: hyper-parameters, the tensor table
// (formats/TENSORS.md lists it with the checkpoint names it comes from), the graph.
#include "runtime/model/switch/switch_arch.h"

#include "runtime/model/hparams.h"
#include "runtime/model/hyper/selection_pattern.h"
#include "runtime/model/switch/switch_graph.h"

namespace hmoe {

namespace {

constexpr int64_t kMaxBuckets = 1024;

class SwitchArch : public ArchSpec {
 public:
  Arch id() const override { return Arch::SwitchHyperMoE; }
  const char* name() const override { return "switch-hypermoe"; }
  bool encoder_decoder() const override { return true; }

  std::vector<std::string> hparam_names() const override {
    return {"vocab_size", "n_positions", "n_embd", "n_layer", "n_decoder_layer", "n_head", "d_kv", "d_ff",
            "layer_norm_epsilon", "n_experts", "top_k", "encoder_sparse_step", "decoder_sparse_step",
            "expert_capacity", "router_bias", "relative_attention_num_buckets", "relative_attention_max_distance",
            "tie_word_embeddings", "decoder_start_token_id", "use_hypernet", "experts_embedding_dim",
            "process_dim", "hypernet_input", "hypernetwork_bottleneck", "layer_emb_dim", "adapter_dim"};
  }

  void validate(const HParams& hp) const override {
    check_hparam_range("vocab_size", hp.vocab_size, 1, kMaxVocab);
    check_hparam_range("n_positions", hp.n_positions, 1, kMaxPositions);
    check_hparam_range("n_embd", hp.n_embd, 1, kMaxDim);
    check_hparam_range("n_layer", hp.n_layer, 1, kMaxLayers);
    check_hparam_range("n_decoder_layer", hp.n_decoder_layer, 1, kMaxLayers);
    check_hparam_range("n_head", hp.n_head, 1, kMaxDim);
    check_hparam_range("d_kv", hp.d_kv, 1, kMaxDim);
    if (hp.n_head * hp.d_kv > kMaxDim)
      throw FormatError("n_head " + std::to_string(hp.n_head) + " x d_kv " + std::to_string(hp.d_kv) +
                        " is more than " + std::to_string(kMaxDim));
    check_hparam_range("d_ff", hp.d_ff, 1, kMaxDim);
    check_epsilon(hp);
    check_hparam_range("n_experts", hp.n_experts, hp.use_hypernet ? 2 : 1, kMaxExperts);
    // Switch routes every token to one expert (top-1).
    check_hparam_range("top_k", hp.top_k, 1, 1);
    check_hparam_range("encoder_sparse_step", hp.encoder_sparse_step, 0, kMaxLayers);
    check_hparam_range("decoder_sparse_step", hp.decoder_sparse_step, 0, kMaxLayers);
    check_hparam_range("expert_capacity", hp.expert_capacity, 1, kMaxPositions);
    // The bidirectional buckets split num_buckets in two halves of exact and log-spaced
    // buckets: at least one of each, and a max distance past the exact ones.
    check_hparam_range("relative_attention_num_buckets", hp.relative_attention_num_buckets, 4, kMaxBuckets);
    check_hparam_range("relative_attention_max_distance", hp.relative_attention_max_distance,
                       hp.relative_attention_num_buckets / 2 + 1, kMaxPositions);
    check_hparam_range("decoder_start_token_id", hp.decoder_start_token_id, 0, hp.vocab_size - 1);
    check_hyper_hparams(hp);
  }

  std::unique_ptr<ModelWeightsBase> new_weights(const HParams& hp) const override {
    auto w = std::make_unique<SwitchWeights>();
    w->enc.blocks.resize(static_cast<size_t>(hp.n_layer));
    w->dec.blocks.resize(static_cast<size_t>(hp.n_decoder_layer));
    HyperDims& dims = w->hyper_dims;
    dims.n_experts = hp.n_experts;
    dims.top_k = 1;
    dims.d = hp.n_embd;
    dims.b = hp.adapter_dim;
    dims.e = hp.experts_embedding_dim;
    dims.pd = hp.process_dim;
    dims.hin = hp.hypernet_input;
    dims.H = hp.hypernetwork_bottleneck;
    dims.le = hp.layer_emb_dim;
    for (int stack = 0; stack < 2; ++stack) {
      const bool decoder = stack == 1;
      SwitchStack& s = decoder ? w->dec : w->enc;
      const int64_t step = decoder ? hp.decoder_sparse_step : hp.encoder_sparse_step;
      for (int64_t i = 0; i < static_cast<int64_t>(s.blocks.size()); ++i) {
        SwitchBlock& b = s.blocks[static_cast<size_t>(i)];
        b.sparse = switch_block_sparse(i, step);
        if (b.sparse && !w->first_experts) w->first_experts = &b.moe.fc;
        if (!b.sparse || !hp.use_hypernet) continue;
        b.slot = static_cast<int64_t>(w->hyper_slots.size());
        // The layer embedding's row is the block's index within its stack, dense blocks counted.
        w->hyper_slots.push_back({&b.hyper, &s.generator, i, &b.baked,
                                  std::string(decoder ? "decoder" : "encoder") + " block " + std::to_string(i),
                                  /*at_decode=*/decoder});
      }
    }
    return w;
  }

  void for_each_tensor(const HParams& hp, bool baked, ModelWeightsBase& aw, TensorSink& s) const override {
    SwitchWeights& w = static_cast<SwitchWeights&>(aw);
    w.hyper_baked = baked;
    const int64_t V = hp.vocab_size, d = hp.n_embd, N = hp.n_experts, F = hp.d_ff, H = hp.n_head;
    const int64_t inner = hp.n_head * hp.d_kv, NB = hp.relative_attention_num_buckets;
    const bool tied = hp.tie_word_embeddings;
    using R = TensorRole;
    using D = DecodeRead;
    auto mat = [&](std::string name, std::vector<int64_t> shape, R role, D read, kernels::MatrixView* dst,
                   int64_t reads = 1) { s.matrix({std::move(name), std::move(shape), true, role, read, false, reads}, dst); };
    auto vec = [&](std::string name, std::vector<int64_t> shape, R role, D read, const float** dst,
                   int64_t reads = 1) { s.vector({std::move(name), std::move(shape), false, role, read, false, reads}, dst); };

    s.matrix({"tok_embd", {V, d}, true, R::Embedding, D::OneRow, /*lm_head=*/tied}, &w.tok_embd);
    if (tied) w.lm_head = w.tok_embd;
    else mat("lm_head", {V, d}, R::LmHead, D::All, &w.lm_head);

    for (int stack = 0; stack < 2; ++stack) {
      const bool decoder = stack == 1;
      SwitchStack& st = decoder ? w.dec : w.enc;
      const std::string sp = decoder ? "dec." : "enc.";
      // The encoder runs once per input: nothing of it is read per decoded token.
      const D at_decode = decoder ? D::All : D::None;
      const D hyper_read = decoder ? D::PerToken : D::None;
      const D hyper_rows = decoder ? D::UnselectedRows : D::None;
      int64_t n_hyper = 0;
      for (const SwitchBlock& b : st.blocks) n_hyper += b.slot >= 0 ? 1 : 0;
      // Every stack has its generator, even one without a sparse block (as the authors' code builds it).
      const bool generator = hp.use_hypernet && !baked, tables = hp.use_hypernet && baked;

      vec(sp + "rel_bias", {NB, H}, R::PositionBias, at_decode, &st.rel_bias);
      for (int64_t i = 0; i < static_cast<int64_t>(st.blocks.size()); ++i) {
        SwitchBlock& b = st.blocks[static_cast<size_t>(i)];
        const std::string p = sp + "blk." + std::to_string(i) + ".";
        vec(p + "ln1.weight", {d}, R::Norm, at_decode, &b.ln_self);
        mat(p + "attn.qkv.weight", {3 * inner, d}, R::Weight, at_decode, &b.qkv);
        mat(p + "attn.out.weight", {d, inner}, R::Weight, at_decode, &b.attn_out);
        if (decoder) {
          vec(p + "ln_cross.weight", {d}, R::Norm, D::All, &b.ln_cross);
          mat(p + "cross.q.weight", {inner, d}, R::Weight, D::All, &b.cross_q);
          // Keys and values of the encoder output: computed once per encoded input.
          mat(p + "cross.kv.weight", {2 * inner, d}, R::Weight, D::None, &b.cross_kv);
          mat(p + "cross.out.weight", {d, inner}, R::Weight, D::All, &b.cross_out);
        }
        vec(p + "ln2.weight", {d}, R::Norm, at_decode, &b.ln_ff);
        if (!b.sparse) {
          mat(p + "ffn.wi.weight", {F, d}, R::Weight, at_decode, &b.ffn_wi);
          mat(p + "ffn.wo.weight", {d, F}, R::Weight, at_decode, &b.ffn_wo);
          continue;
        }
        const D top_k = decoder ? D::TopK : D::None;
        mat(p + "moe.gate", {N, d}, R::Router, at_decode, &b.moe.gate);
        if (hp.router_bias) vec(p + "moe.gate_bias", {N}, R::Bias, at_decode, &b.moe.gate_bias);
        mat(p + "moe.fc.weight", {N, F, d}, R::Weight, top_k, &b.moe.fc);
        mat(p + "moe.proj.weight", {N, d, F}, R::Weight, top_k, &b.moe.proj);
        if (generator) {
          vec(p + "hyper.expert_embd", {N, hp.experts_embedding_dim}, R::Hypernet, hyper_rows, &b.hyper.expert_embd);
          mat(p + "hyper.proc0.weight", {hp.process_dim, hp.experts_embedding_dim}, R::Hypernet, hyper_read,
              &b.hyper.proc0);
          vec(p + "hyper.proc0.bias", {hp.process_dim}, R::Hypernet, hyper_read, &b.hyper.proc0_bias);
          mat(p + "hyper.proc2.weight", {hp.hypernet_input, hp.process_dim}, R::Hypernet, hyper_read, &b.hyper.proc2);
          vec(p + "hyper.proc2.bias", {hp.hypernet_input}, R::Hypernet, hyper_read, &b.hyper.proc2_bias);
        }
        if (tables) {
          const int64_t C = static_cast<int64_t>(binomial(N, 1)), ad = hp.adapter_dim;
          const D entry = decoder ? D::OneEntry : D::None;
          mat(p + "hyper.table.down", {C, ad, d}, R::HyperTable, entry, &b.baked.down);
          vec(p + "hyper.table.down_bias", {C, ad}, R::HyperTable, entry, &b.baked.down_bias);
          mat(p + "hyper.table.up", {C, d, ad}, R::HyperTable, entry, &b.baked.up);
          vec(p + "hyper.table.up_bias", {C, d}, R::HyperTable, entry, &b.baked.up_bias);
        }
      }
      vec(sp + "norm.weight", {d}, R::Norm, at_decode, &st.norm);
      if (generator) {
        // One generator per stack: per token, each of the stack's HyperExperts reads it all.
        HyperGeneratorWeights& g = st.generator;
        const int64_t L = static_cast<int64_t>(st.blocks.size()), le = hp.layer_emb_dim;
        const int64_t Hb = hp.hypernetwork_bottleneck, hin = hp.hypernet_input, db = d * hp.adapter_dim;
        const int64_t b = hp.adapter_dim;
        const std::string gp = sp + "hyper.";
        vec(gp + "layer_embd", {L, le}, R::Hypernet, hyper_read, &g.layer_embd);
        mat(gp + "linear1.weight", {Hb, hin + le}, R::Hypernet, hyper_read, &g.linear1, n_hyper);
        vec(gp + "linear1.bias", {Hb}, R::Hypernet, hyper_read, &g.linear1_bias, n_hyper);
        mat(gp + "weight_down.weight", {db, Hb}, R::Hypernet, hyper_read, &g.weight_down, n_hyper);
        vec(gp + "weight_down.bias", {db}, R::Hypernet, hyper_read, &g.weight_down_bias, n_hyper);
        mat(gp + "weight_up.weight", {db, Hb}, R::Hypernet, hyper_read, &g.weight_up, n_hyper);
        vec(gp + "weight_up.bias", {db}, R::Hypernet, hyper_read, &g.weight_up_bias, n_hyper);
        mat(gp + "bias_down.weight", {b, Hb}, R::Hypernet, hyper_read, &g.bias_down, n_hyper);
        vec(gp + "bias_down.bias", {b}, R::Hypernet, hyper_read, &g.bias_down_bias, n_hyper);
        mat(gp + "bias_up.weight", {d, Hb}, R::Hypernet, hyper_read, &g.bias_up, n_hyper);
        vec(gp + "bias_up.bias", {d}, R::Hypernet, hyper_read, &g.bias_up_bias, n_hyper);
      }
    }
  }

  std::unique_ptr<Graph> make_graph(std::shared_ptr<const Model> model, const SessionOptions& o) const override {
    return std::make_unique<SwitchGraph>(std::move(model), o);
  }
};

}  // namespace

const ArchSpec& switch_arch() {
  static const SwitchArch arch;
  return arch;
}

}  // namespace hmoe
