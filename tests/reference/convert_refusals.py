#!/usr/bin/python3
"""tools/convert.py refuses bad checkpoints, naming the bad tensor or config field,
and accepts the layouts real checkpoints have (safetensors, tied head, unused tensors).

    convert_refusals.py --work DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

from ref_common import TOOLS, TestFailure, check, make_model, quiet_call

import convert
import make_checkpoint
from hmoe_ref.checkpoint import BIN_NAME, read_tensors
from hmoe_ref.file_layout import F16, F32
from hmoe_ref.hmoe_file import read_hmoe
from hmoe_ref.safetensors_np import write_safetensors

RENAMED = "transformer.h.1.mlp.experts.expert_3.c_fc.weight"
RESHAPED = "transformer.h.0.attn.c_attn.weight"
DROPPED = "transformer.param_gen.decoder.bias_up.weight"


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


def expect_refusal(ckpt: str, work: str, must_name, what: str) -> str:
    rc, _, err = quiet_call(convert.main, [ckpt, "-o", os.path.join(work, "refused.hmoe"), "-q"])
    check(rc != 0, f"{what}: convert.py accepted it")
    for name in must_name:
        check(name in err, f"{what}: the message does not name '{name}': {err.strip()}")
    check(not os.path.exists(os.path.join(work, "refused.hmoe")), f"{what}: a file was written anyway")
    print(f"refused ({what}): {err.strip()}")
    return err


def expect_accept(ckpt: str, out: str, what: str, extra=()):
    rc, _, err = quiet_call(convert.main, [ckpt, "-o", out, "-q"] + list(extra))
    check(rc == 0, f"{what}: convert.py refused it: {err.strip()}")
    print(f"accepted ({what})")
    return read_hmoe(out)


def rename(sd):
    sd[RENAMED + "s"] = sd.pop(RENAMED)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = args.work
    base, _, _ = make_model("n8k2", 5, work)

    # A renamed tensor, once as a real process: the exit status is what scripts see.
    renamed = variant(base, work, "renamed", rename)
    r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert.py"), renamed,
                        "-o", os.path.join(work, "refused.hmoe")], capture_output=True, text=True)
    check(r.returncode == 1, f"renamed tensor: convert.py exited {r.returncode}, expected 1")
    check(RENAMED in r.stderr and RENAMED + "s" in r.stderr,
          f"renamed tensor: the message names neither '{RENAMED}' nor its new name: {r.stderr.strip()}")
    print(f"refused (renamed tensor, exit 1): {r.stderr.strip()}")

    def reshape(sd):  # the classic mistake: a Conv1D weight transposed
        sd[RESHAPED] = sd[RESHAPED].t().contiguous()

    expect_refusal(variant(base, work, "reshaped", reshape), work, [RESHAPED], "reshaped tensor")
    expect_refusal(variant(base, work, "dropped", lambda sd: sd.pop(DROPPED)), work, [DROPPED],
                   "missing tensor")
    extra = "transformer.h.0.mlp.router_bias"
    expect_refusal(variant(base, work, "extra", lambda sd: sd.__setitem__(extra, torch.zeros(8))), work,
                   [extra], "unknown tensor")

    def untie(sd):
        sd["lm_head.weight"] = sd["lm_head.weight"].clone() + 1.0

    expect_refusal(variant(base, work, "untied", untie), work, ["lm_head.weight"], "untied head")
    for field, value in (("activation_function", "relu"), ("n_head", 5), ("k", 9), ("n_inner", 100),
                         ("experts_embedding", False)):
        expect_refusal(variant(base, work, f"cfg-{field}", edit_cfg=lambda c: c.__setitem__(field, value)),
                       work, [field], f"config {field}={value}")
    expect_refusal(variant(base, work, "cfg-missing", edit_cfg=lambda c: c.pop("n_experts")), work,
                   ["n_experts"], "config without n_experts")

    # Accepted: older Hugging Face mask buffers and the authors' unused tensors.
    def add_buffers(sd):
        for i in range(2):
            sd[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(1, 1, 128, 128))
            sd[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)

    f = expect_accept(variant(base, work, "buffers", add_buffers), os.path.join(work, "buffers.hmoe"),
                      "Hugging Face attn.bias buffers")
    check(not any("attn.bias" in n and "qkv" not in n and "out" not in n for n in f.tensors),
          "mask buffers leaked into the file")

    # Plain MoE whose checkpoint still carries an (unused) hypernetwork: ignored by name.
    plain, _, _ = make_model("plain", 5, work)
    hyper_sd = torch.load(os.path.join(base, BIN_NAME))
    with_gen = variant(plain, work, "plain-with-gen", lambda sd: sd.update(
        {k: v for k, v in hyper_sd.items() if "param_gen" in k or "experts_embedding" in k
         or "embedding_process" in k}))
    f = expect_accept(with_gen, os.path.join(work, "plain.hmoe"), "plain MoE carrying hypernetwork tensors")
    check(not any("hyper" in n for n in f.tensors), "plain MoE file has hypernetwork tensors")
    check(f.hparams["use_hypernet"] is False, "plain MoE file says use_hypernet")

    # safetensors + f16 + tokenizer files; read back and compare with the source.
    st = os.path.join(work, "safetensors")
    shutil.rmtree(st, ignore_errors=True)
    os.makedirs(st)
    shutil.copy(os.path.join(base, "config.json"), st)
    src = read_tensors(base)
    write_safetensors(os.path.join(st, "model.safetensors"),
                      {k: v for k, v in src.items() if k != "lm_head.weight"})
    vocab = {f"t{i}": i for i in range(511)}
    vocab["<|endoftext|>"] = 511
    with open(os.path.join(st, "vocab.json"), "w") as fh:
        json.dump(vocab, fh)
    with open(os.path.join(st, "merges.txt"), "w") as fh:
        fh.write("#version: 0.2\nt 1\nt1 0\n\nĠ t\n")
    f = expect_accept(st, os.path.join(work, "st-f16.hmoe"), "model.safetensors, f16, tokenizer",
                      ["--dtype", "f16"])
    tok = f.tokenizer
    check(tok is not None and f.tokenizer_kind == 1, "tokenizer missing or not GPT2_BPE")
    check(tok.vocab[:3] == ["t0", "t1", "t2"] and tok.vocab[511] == "<|endoftext|>", "vocab not id-ordered")
    check(tok.merges == ["t 1", "t1 0", "Ġ t"], f"merges {tok.merges}")
    check(tok.eos_id == 511, f"eos_id {tok.eos_id}")
    check(f.metadata.get("general.source") == "safetensors", f"general.source {f.metadata}")
    check(all(not os.path.isabs(v) and "/" not in v for v in f.metadata.values()), "metadata holds a path")
    for name, e in f.tensors.items():
        want = F16 if (len(e.shape) >= 2 and name.endswith(("weight", "embd")) and "expert_embd" not in name
                       and "layer_embd" not in name) else F32
        check(e.dtype == want, f"{name}: dtype {e.dtype_name}, expected {'f16' if want == F16 else 'f32'}")
    # Spot-check the mapping of checkpoint names to TENSORS.md, value by value.
    pairs = [("blk.1.attn.qkv.weight", src["transformer.h.1.attn.c_attn.weight"].T),
             ("blk.0.attn.out.weight", src["transformer.h.0.attn.c_proj.weight"].T),
             ("blk.1.moe.gate", src["transformer.h.1.mlp.w_gate"].T),
             ("blk.1.moe.fc.weight", src["transformer.h.1.mlp.experts.expert_5.c_fc.weight"].T),
             ("blk.0.moe.proj.weight", src["transformer.h.0.mlp.experts.expert_2.c_proj.weight"].T),
             ("blk.0.moe.proj.bias", src["transformer.h.0.mlp.experts.expert_2.c_proj.bias"]),
             ("hyper.weight_down.weight", src["transformer.param_gen.decoder.weight_down.weight"]),
             ("blk.1.hyper.proc2.weight", src["transformer.h.1.mlp.embedding_process.2.weight"]),
             ("hyper.layer_embd", src["transformer.param_gen.layer_embed.weight"])]
    for name, want in pairs:
        got = f.array(name)
        if name == "blk.1.moe.fc.weight":
            got = got[5]
        elif name.startswith("blk.0.moe.proj"):
            got = got[2]
        tol = 1e-3 * np.abs(want).max() if f.tensors[name].dtype == F16 else 0
        check(np.abs(got - want).max() <= tol, f"{name} does not hold what TENSORS.md says")
    print("f16 file: matrices f16, vectors and router f32, values as TENSORS.md maps them")

    # make_checkpoint.py --tokenizer-from copies the tokenizer files; convert.py keeps them.
    with_tok = os.path.join(work, "with-tokenizer")
    rc, _, err = quiet_call(make_checkpoint.main, ["--preset", "n8k1", "--seed", "2", "-o", with_tok,
                                                   "--tokenizer-from", st])
    check(rc == 0, f"make_checkpoint.py --tokenizer-from failed: {err.strip()}")
    f = expect_accept(with_tok, os.path.join(work, "with-tokenizer.hmoe"), "checkpoint with tokenizer files")
    check(f.tokenizer is not None and len(f.tokenizer.vocab) == 512 and f.tokenizer.eos_id == 511,
          "tokenizer of make_checkpoint.py --tokenizer-from lost in conversion")
    rc, _, err = quiet_call(make_checkpoint.main, ["--preset", "distinct", "-o", os.path.join(work, "small-vocab"),
                                                   "--tokenizer-from", st])
    check(rc == 1 and "512 tokens" in err, f"a tokenizer larger than vocab_size was accepted: {err.strip()}")
    print("make_checkpoint.py --tokenizer-from: copied, converted, refused when larger than vocab_size")
    check_outputs(base, work)
    return 0


def check_outputs(ckpt: str, work: str) -> None:
    """The converter writes through atomic_output (tools/hmoe_ref/atomic_file.py), as the
    C++ writers do (tests/BAD_INPUTS.md, rows O01 and O02): a bad destination is refused
    before the checkpoint is read, and a write that fails leaves nothing behind."""
    out_dir = os.path.join(work, "outputs")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    fifo = os.path.join(out_dir, "fifo")
    os.mkfifo(fifo)
    for dest, why in ((out_dir, "it is a directory"), (out_dir + "/", "it names a directory"),
                      (fifo, "it exists and is not a regular file (it is a FIFO)"),
                      (os.path.join(out_dir, "no", "such", "o.hmoe"), "cannot create a file in"),
                      ("/proc/hmoe_convert_out.hmoe", "cannot create a file in '/proc'")):
        # A checkpoint that does not exist: the destination is checked first.
        rc, _, err = quiet_call(convert.main, [os.path.join(work, "no-such-checkpoint"), "-o", dest, "-q"])
        check(rc == 1 and why in err, f"output {dest}: expected '{why}', got {rc} {err.strip()}")
    check(sorted(os.listdir(out_dir)) == ["fifo"], f"left behind: {os.listdir(out_dir)}")
    # A full disk: RLIMIT_FSIZE in a child process (SIGXFSZ ignored, so writes fail with EFBIG).
    limited = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
               "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536)); sys.path.insert(0, sys.argv[1]); "
               "import convert; sys.exit(convert.main(sys.argv[2:]))")
    out = os.path.join(out_dir, "full.hmoe")
    r = subprocess.run([sys.executable, "-c", limited, TOOLS, ckpt, "-o", out, "-q"], capture_output=True, text=True)
    check(r.returncode == 1 and f"writing '{out}' failed: File too large" in r.stderr,
          f"a full disk: exit {r.returncode}, {r.stderr.strip()}")
    check(sorted(os.listdir(out_dir)) == ["fifo"], f"a failed write left {os.listdir(out_dir)}")
    print("outputs: bad destinations refused before reading, a failed write leaves nothing")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
