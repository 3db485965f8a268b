#!/usr/bin/python3
"""tools/convert.py on Switch Transformer checkpoints: each refusal rule refuses with a
message naming the tensor or config field (and why), nothing is written; the layouts
real checkpoints have are accepted (plain Hugging Face configs, bf16 tensors, aliases,
safetensors, spiece.model, generator tensors of a plain model).

    switch_convert_refusals.py --work DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

from ref_common import TOOLS, TestFailure, check, quiet_call

import convert
import make_checkpoint
from hmoe_ref.checkpoint import BIN_NAME, read_tensors
from hmoe_ref.file_layout import F16, F32
from hmoe_ref.hmoe_file import read_hmoe
from hmoe_ref.safetensors_np import write_safetensors

HYPER_FIELDS = ("use_hypernet", "experts_embedding", "experts_embedding_dim", "process_dim", "hypernet_input",
                "hypernetwork_bottleneck", "layer_emb_dim", "adapter_dim", "use_fast_mode")
EXPERT_WI = "decoder.block.1.layer.2.mlp.experts.expert_3.wi.weight"


def make(preset: str, seed: int, work: str, *extra: str) -> str:
    out = os.path.join(work, f"{preset}-s{seed}{''.join(extra).replace('-', '')}")
    rc, _, err = quiet_call(make_checkpoint.main, ["--arch", "switch", "--preset", preset, "--seed", str(seed),
                                                   "-o", out] + list(extra))
    check(rc == 0, f"make_checkpoint.py --arch switch --preset {preset} failed: {err}")
    return out


def variant(base: str, work: str, name: str, edit_sd=None, edit_cfg=None) -> str:
    """A copy of checkpoint `base` with its state dict and/or config edited."""
    out = os.path.join(work, name)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(base, out)
    if edit_sd:
        sd = torch.load(os.path.join(base, BIN_NAME))
        edit_sd(sd)
        torch.save(sd, os.path.join(out, BIN_NAME))
    if edit_cfg:
        with open(os.path.join(base, "config.json")) as f:
            cfg = json.load(f)
        edit_cfg(cfg)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f)
    return out


def expect_refusal(ckpt: str, work: str, must_name, what: str, extra=()) -> None:
    out = os.path.join(work, "refused.hmoe")
    rc, _, err = quiet_call(convert.main, [ckpt, "-o", out, "-q"] + list(extra))
    check(rc != 0, f"{what}: convert.py accepted it")
    for words in must_name:
        check(words in err, f"{what}: the message does not say '{words}': {err.strip()}")
    check(not os.path.exists(out), f"{what}: a file was written anyway")
    print(f"refused ({what}): {err.strip()}")


def expect_accept(ckpt: str, out: str, what: str, extra=()):
    rc, _, err = quiet_call(convert.main, [ckpt, "-o", out, "-q"] + list(extra))
    check(rc == 0, f"{what}: convert.py refused it: {err.strip()}")
    print(f"accepted ({what})")
    return read_hmoe(out)


def setter(field, value):
    return lambda c: c.__setitem__(field, value)


def config_refusals(base: str, work: str) -> None:
    cases = [
        ("router_jitter_noise", 0.01, ["router_jitter_noise", "random"]),
        ("use_fast_mode", True, ["use_fast_mode"]),
        ("use_hypernet", False, ["experts_embedding=true with use_hypernet=false"]),
        ("feed_forward_proj", "gated-gelu", ["feed_forward_proj", "relu"]),
        ("dense_act_fn", "gelu_new", ["dense_act_fn", "relu"]),
        ("router_dtype", "bfloat16", ["router_dtype", "float32"]),
        ("is_encoder_decoder", False, ["is_encoder_decoder"]),
        ("num_selected_experts", 2, ["num_selected_experts", "exactly 1"]),
        ("num_heads", 0, ["num_heads"]),
        ("expert_capacity", 0, ["expert_capacity"]),
        ("eos_token_id", 320, ["eos_token_id", "vocab_size"]),
        ("relative_attention_num_buckets", 300, ["relative_attention_max_distance"]),
    ]
    for field, value, words in cases:
        expect_refusal(variant(base, work, f"cfg-{field}", edit_cfg=setter(field, value)), work, words,
                       f"config {field}={value!r}")
    expect_refusal(variant(base, work, "cfg-no-jitter", edit_cfg=lambda c: c.pop("router_jitter_noise")), work,
                   ["router_jitter_noise", "0.01"], "config without router_jitter_noise")
    expect_refusal(variant(base, work, "cfg-no-dkv", edit_cfg=lambda c: c.pop("d_kv")), work, ["d_kv"],
                   "config without d_kv")
    expect_refusal(variant(base, work, "cfg-no-adapter", edit_cfg=lambda c: c.pop("adapter_dim")), work,
                   ["adapter_dim"], "HyperMoE config without adapter_dim")
    expect_refusal(base, work, ["--n-positions"], "--n-positions 0", ["--n-positions", "0"])


def tensor_refusals(base: str, untied: str, work: str) -> None:
    # A renamed tensor, once as a real process: the exit status is what scripts see.
    def rename(sd):
        sd[EXPERT_WI + "s"] = sd.pop(EXPERT_WI)

    renamed = variant(base, work, "renamed", rename)
    r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert.py"), renamed,
                        "-o", os.path.join(work, "refused.hmoe")], capture_output=True, text=True)
    check(r.returncode == 1, f"renamed tensor: convert.py exited {r.returncode}, expected 1")
    check(EXPERT_WI in r.stderr and EXPERT_WI + "s" in r.stderr,
          f"renamed tensor: the message names neither '{EXPERT_WI}' nor its new name: {r.stderr.strip()}")
    print(f"refused (renamed tensor, exit 1): {r.stderr.strip()}")

    def transpose(name):
        return lambda sd: sd.__setitem__(name, sd[name].t().contiguous())

    expect_refusal(variant(base, work, "reshaped", transpose(EXPERT_WI)), work, [EXPERT_WI, "shape"],
                   "transposed expert weight")
    gen = "decoder.param_gen.decoder.bias_up.weight"
    expect_refusal(variant(base, work, "dropped", lambda sd: sd.pop(gen)), work, [gen], "missing generator tensor")
    extra = "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"
    expect_refusal(variant(base, work, "extra", lambda sd: sd.__setitem__(extra, torch.zeros(32, 4))), work,
                   [extra, "unknown"], "relative bias table outside block 0")
    bias = "encoder.block.1.layer.1.mlp.router.classifier.bias"
    expect_refusal(variant(base, work, "router-bias", lambda sd: sd.__setitem__(bias, torch.zeros(6))), work,
                   [bias, "unknown"], "router bias with router_bias false")
    expect_refusal(variant(base, work, "router-bias-cfg", edit_cfg=setter("router_bias", True)), work,
                   [bias], "router_bias true without the bias")
    expect_refusal(variant(base, work, "step", edit_cfg=setter("encoder_sparse_step", 3)), work,
                   ["encoder.block.3.layer.1.mlp.wi.weight", "encoder.block.3.layer.1.mlp.experts.expert_0.wi.weight"],
                   "saved encoder_sparse_step 3 against a step-2 checkpoint")

    def head_changed(sd):
        sd["lm_head.weight"] = sd["lm_head.weight"].clone() + 1.0

    expect_refusal(variant(base, work, "tied-head", head_changed), work, ["lm_head.weight", "tie_word_embeddings"],
                   "tied config with a different lm_head")
    expect_refusal(variant(untied, work, "untied-no-tie", edit_cfg=lambda c: c.pop("tie_word_embeddings")),
                   work, ["lm_head.weight", "tie_word_embeddings"], "untied head, tie_word_embeddings absent")
    expect_refusal(variant(untied, work, "untied-no-head", lambda sd: sd.pop("lm_head.weight")), work,
                   ["lm_head.weight", "untied"], "untied config without lm_head")

    def alias_changed(sd):
        sd["decoder.embed_tokens.weight"] = sd["shared.weight"].clone() * 2

    expect_refusal(variant(base, work, "alias", alias_changed), work, ["decoder.embed_tokens.weight", "shared.weight"],
                   "embed_tokens differing from shared.weight")


def accepted_layouts(base: str, untied: str, plain: str, work: str) -> None:
    src = read_tensors(base)
    # tie_word_embeddings absent means tied.
    f = expect_accept(variant(base, work, "no-tie-key", edit_cfg=lambda c: c.pop("tie_word_embeddings")),
                      os.path.join(work, "no-tie-key.hmoe"), "tie_word_embeddings absent (tied)")
    check(f.hparams["tie_word_embeddings"] and "lm_head" not in f.tensors, "absent tie_word_embeddings not tied")

    # Hugging Face's plain Switch: no HyperMoE fields at all, bf16 tensors (as the hub's
    # switch-base-8 stores some), no shared.weight but its alias.
    def hf_plain_cfg(c):
        for k in HYPER_FIELDS:
            c.pop(k, None)

    def bf16_no_shared(sd):
        for k in list(sd):
            if k.endswith("wi.weight"):
                sd[k] = sd[k].to(torch.bfloat16)
        sd.pop("shared.weight")
        sd.pop("lm_head.weight")
        sd.pop("decoder.embed_tokens.weight")

    hf = variant(plain, work, "hf-plain", bf16_no_shared, hf_plain_cfg)
    f = expect_accept(hf, os.path.join(work, "hf-plain.hmoe"), "plain Hugging Face config, bf16 tensors, "
                      "only encoder.embed_tokens for the embedding")
    psrc = read_tensors(plain)
    check(not f.hparams["use_hypernet"] and not any("hyper" in n for n in f.tensors), "plain file has hyper parts")
    check(np.array_equal(f.array("tok_embd"), psrc["shared.weight"]), "tok_embd from the embed_tokens alias")
    wi = "encoder.block.0.layer.1.mlp.wi.weight"
    want = torch.from_numpy(psrc[wi]).to(torch.bfloat16).float().numpy()
    check(np.array_equal(f.array("enc.blk.0.ffn.wi.weight"), want), "bf16 tensor widened exactly")

    # use_hypernet true, experts_embedding false: the authors' code builds the generator
    # and the adapter but computes plain Switch; the file says use_hypernet false.
    gen_only = make("sw-tied", 5, work, "--experts-embedding", "false")
    f = expect_accept(gen_only, os.path.join(work, "gen-only.hmoe"), "use_hypernet without experts_embedding")
    check(not f.hparams["use_hypernet"] and f.hparams["adapter_dim"] == 0 and
          not any("hyper" in n for n in f.tensors), "use_hypernet without experts_embedding kept hyper parts")
    check("decoder.param_gen.decoder.linear1.weight" in read_tensors(gen_only), "generator not saved")

    # A plain model carrying an (unused) HyperExpert: ignored by name.
    with_hyper = variant(plain, work, "plain-with-hyper", lambda sd: sd.update(
        {k: torch.from_numpy(np.array(v)) for k, v in src.items()
         if "param_gen" in k or "experts_embedding" in k or "embedding_process" in k}))
    f = expect_accept(with_hyper, os.path.join(work, "plain-with-hyper.hmoe"), "plain model with hyper tensors")
    check(not any("hyper" in n for n in f.tensors), "plain model's hyper tensors leaked into the file")

    # safetensors + f16 + spiece.model + --n-positions; values as the converter maps them.
    st = os.path.join(work, "safetensors")
    shutil.rmtree(st, ignore_errors=True)
    os.makedirs(st)
    shutil.copy(os.path.join(untied, "config.json"), st)
    usrc = read_tensors(untied)
    write_safetensors(os.path.join(st, "model.safetensors"),
                      {k: v for k, v in usrc.items() if "embed_tokens" not in k})
    sp_bytes = bytes(range(256)) * 3 + b"\n\x05<pad>"  # the converter keeps the bytes as they are
    with open(os.path.join(st, "spiece.model"), "wb") as fh:
        fh.write(sp_bytes)
    f = expect_accept(st, os.path.join(work, "st-f16.hmoe"), "model.safetensors, f16, spiece.model",
                      ["--dtype", "f16", "--n-positions", "300"])
    tok = f.tokenizer
    check(f.tokenizer_kind == 2 and tok.sp_model == sp_bytes and tok.eos_id == 1 and tok.pad_id == 0,
          f"tokenizer table: kind {f.tokenizer_kind}, {tok}")
    check(f.hparams["n_positions"] == 300 and f.arch == 1, "n_positions / arch")
    for name, e in f.tensors.items():
        vector = len(e.shape) == 1 or name.endswith(("rel_bias", "moe.gate", "expert_embd", "layer_embd"))
        check(e.dtype == (F32 if vector else F16), f"{name}: dtype {e.dtype_name}")
    pairs = [("lm_head", usrc["lm_head.weight"]),
             ("enc.blk.1.moe.gate", usrc["encoder.block.1.layer.1.mlp.router.classifier.weight"]),
             ("dec.blk.2.cross.q.weight", usrc["decoder.block.2.layer.1.EncDecAttention.q.weight"]),
             ("dec.hyper.weight_down.weight", usrc["decoder.param_gen.decoder.weight_down.weight"]),
             ("dec.hyper.layer_embd", usrc["decoder.param_gen.layer_embed.weight"]),
             ("enc.blk.3.hyper.proc2.bias", usrc["encoder.block.3.layer.1.mlp.embedding_process.2.bias"])]
    for name, want in pairs:
        tol = 1e-3 * np.abs(want).max() if f.tensors[name].dtype == F16 else 0
        check(np.abs(f.array(name) - want).max() <= tol, f"{name} does not hold its checkpoint tensor")
    check(f.tensors["dec.hyper.layer_embd"].shape == (3, 4), "decoder layer table of the 3-block stack")

    # make_checkpoint.py --arch switch --tokenizer-from copies spiece.model.
    with_tok = make("sw-plain", 2, work, "--tokenizer-from", st)
    f = expect_accept(with_tok, os.path.join(work, "with-tok.hmoe"), "checkpoint with spiece.model")
    check(f.tokenizer.sp_model == sp_bytes, "spiece.model lost between make_checkpoint and convert")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = args.work
    os.makedirs(work, exist_ok=True)
    base = make("sw-tied", 5, work)
    untied = make("sw-untied", 5, work)
    plain = make("sw-plain", 5, work)
    config_refusals(base, work)
    tensor_refusals(base, untied, work)
    accepted_layouts(base, untied, plain, work)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
