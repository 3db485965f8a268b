#!/usr/bin/python3
"""How close q8 and q4 models stay to f32, and how often quantisation flips routing.

    bench/quality/quant_quality.py CHECKPOINT_DIR TEXT_FILE --hmoe path/to/hmoe
        [--max-tokens 4000] [--work DIR] [--readme bench/quality/README.md --label NAME]

CHECKPOINT_DIR is in the authors' layout (config.json, pytorch_model.bin or
model.safetensors, vocab.json, merges.txt). The script

1. converts it to an f32 .hmoe (tools/convert.py) and derives with `hmoe quantize`
   four variants: q8 and q4 with the router kept f32 (the default), and q8 and q4
   with the router (blk.*.moe.gate) quantised too;
2. tokenises the text, cuts it into windows of the model's context and has the C++
   runtime (`hmoe logits`) score every position of every window for each file;
   against f32 it reports the mean cosine similarity of the logit rows, top-1
   agreement, and the largest relative logit error (per row: max |dl| over the row's
   largest |logit|, then the max over rows);
3. runs the PyTorch reference with each variant's dequantised weights and counts
   the (token, layer) pairs whose top-k expert set differs from f32's. Two views:
   "whole model" (every quantised matrix, so upstream error moves the router's input
   too, which is what a user of the file sees) and "router only" (f32 model, only the
   gate replaced: the flips the router's own rounding causes).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tools", "train"))

from bpe import Tokenizer  # noqa: E402
from hmoe_ref.checkpoint import load_model  # noqa: E402
from hmoe_ref.file_layout import F32  # noqa: E402
from hmoe_ref.hmoe_file import read_hmoe  # noqa: E402

# name -> (matrix type, router type or None for "router stays f32")
VARIANTS = [
    ("q8", "q8", None),
    ("q8 + router q8", "q8", "q8"),
    ("q4", "q4", None),
    ("q4 + router q4", "q4", "q4"),
]


def run(cmd):
    """Runs a command; on failure shows its stderr and the command, then exits."""
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr.strip()}")
    return res.stdout


# --- .hmoe tensor names back to checkpoint names (formats/TENSORS.md) -----------------

_DIRECT = {"tok_embd": "transformer.wte.weight", "pos_embd": "transformer.wpe.weight",
           "ln_f.weight": "transformer.ln_f.weight", "ln_f.bias": "transformer.ln_f.bias",
           "hyper.layer_embd": "transformer.param_gen.layer_embed.weight"}
_BLOCK = {"ln1": "ln_1", "ln2": "ln_2", "attn.qkv": "attn.c_attn", "attn.out": "attn.c_proj",
          "hyper.proc0": "mlp.embedding_process.0", "hyper.proc2": "mlp.embedding_process.2"}
_CONV1D = ("attn.qkv.weight", "attn.out.weight")  # GPT-2 Conv1D: stored [in, out], .hmoe [out, in]


def checkpoint_tensors(name, value):
    """The checkpoint tensors (name -> array, checkpoint layout) one .hmoe tensor holds."""
    if name in _DIRECT:
        return {_DIRECT[name]: value}
    if name.startswith("hyper."):  # hyper.<part>.weight/bias: param_gen.decoder, nn.Linear layout
        return {"transformer.param_gen.decoder." + name[len("hyper."):]: value}
    parts = name.split(".")
    if parts[0] != "blk" or len(parts) < 3:
        raise ValueError(f"tensor '{name}' has no checkpoint counterpart known to this script")
    h = f"transformer.h.{parts[1]}."
    rest = ".".join(parts[2:])
    if rest == "moe.gate":
        return {h + "mlp.w_gate": value.T}
    if rest == "hyper.expert_embd":
        return {h + "mlp.n_experts_embedding.weight": value}
    if rest.startswith("moe."):  # stacked experts [N, out, in] / [N, out]
        layer, kind = rest[len("moe."):].split(".")
        src = {"fc": "c_fc", "proj": "c_proj"}[layer]
        return {f"{h}mlp.experts.expert_{j}.{src}.{kind}": (v.T if kind == "weight" else v)
                for j, v in enumerate(value)}
    stem, kind = rest.rsplit(".", 1)
    if stem in _BLOCK:
        return {f"{h}{_BLOCK[stem]}.{kind}": (value.T if rest in _CONV1D else value)}
    raise ValueError(f"tensor '{name}' has no checkpoint counterpart known to this script")


def load_variant_weights(model, hmoe_path, only_router=False):
    """Overwrites the model's weights with the file's dequantised non-f32 tensors
    (f32 tensors are the checkpoint's own), or with its router alone."""
    f = read_hmoe(hmoe_path)
    params = dict(model.named_parameters())
    changed = 0
    for name, entry in f.tensors.items():
        if entry.dtype == F32 or (only_router and not name.endswith(".moe.gate")):
            continue
        for ck, value in checkpoint_tensors(name, f.array(name)).items():
            p = params[ck]
            if tuple(p.shape) != tuple(value.shape):
                raise ValueError(f"{hmoe_path}: '{name}' maps to '{ck}' of shape {tuple(p.shape)}, "
                                 f"got {tuple(value.shape)}")
            with torch.no_grad():
                p.copy_(torch.from_numpy(np.ascontiguousarray(value)))
            changed += 1
    return changed


@torch.no_grad()
def expert_selections(model, windows):
    """([tokens, layers, N] bool: each token's top-k set per layer, via route(),
    [tokens, V] logits)."""
    records = []
    moes = [blk.mlp for blk in model.transformer.h]
    originals = [m.route for m in moes]

    def recording(layer, route):
        def wrapped(x):
            gates, selected = route(x)
            records[-1][layer] = selected.clone()
            return gates, selected
        return wrapped

    for i, m in enumerate(moes):
        m.route = recording(i, originals[i])
    try:
        out, logits = [], []
        for w in windows:
            records.append([None] * len(moes))
            logits.append(model(torch.tensor([w]))[0][0].double().numpy())
            out.append(torch.stack(records[-1], dim=1))
        return torch.cat(out, dim=0), np.concatenate(logits, axis=0)
    finally:
        for m in moes:
            del m.route  # back to the class's method


def logits_of(hmoe_bin, model_path, windows, work, threads):
    rows = []
    for i, w in enumerate(windows):
        out = os.path.join(work, f"logits_{i}.npy")
        cmd = [hmoe_bin, "logits", "-m", model_path, "--ids", ",".join(map(str, w)), "-o", out]
        if threads:
            cmd += ["-t", str(threads)]
        run(cmd)
        rows.append(np.load(out).astype(np.float64))
    return np.concatenate(rows, axis=0)


def compare_logits(ref, got):
    cos = (ref * got).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    top1 = (ref.argmax(1) == got.argmax(1)).mean() * 100
    rel = (np.abs(got - ref).max(1) / np.abs(ref).max(1)).max()
    return cos.mean(), cos.min(), top1, rel


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="checkpoint folder (config.json, weights, vocab.json, merges.txt)")
    ap.add_argument("text", help="held-out text to score")
    ap.add_argument("--hmoe", required=True, help="the hmoe command-line binary")
    ap.add_argument("--max-tokens", type=int, default=4000, help="score the text's first N tokens")
    ap.add_argument("--threads", type=int, default=0, help="hmoe threads (default: hmoe's)")
    ap.add_argument("--work", help="folder for the .hmoe files (default: a temporary one)")
    ap.add_argument("--readme", help="append the table to this markdown file")
    ap.add_argument("--label", default="", help="heading of the table in --readme")
    args = ap.parse_args()
    for path in (args.checkpoint, args.text, args.hmoe):
        if not os.path.exists(path):
            sys.exit(f"'{path}' does not exist")

    work = args.work or tempfile.mkdtemp(prefix="quant_quality_")
    os.makedirs(work, exist_ok=True)
    t0 = time.time()
    f32 = os.path.join(work, "f32.hmoe")
    run([sys.executable, os.path.join(REPO, "tools", "convert.py"), args.checkpoint, "-o", f32, "-q"])
    files = {"f32": f32}
    for name, mat, router in VARIANTS:
        out = os.path.join(work, name.replace(" + router ", "_router_") + ".hmoe")
        cmd = [args.hmoe, "quantize", f32, out, "--type", mat]
        if router:
            cmd += ["--keep", f"blk.*.moe.gate={router}"]
        if os.path.exists(out):
            os.remove(out)
        run(cmd)
        files[name] = out

    tok = Tokenizer(os.path.join(args.checkpoint, "vocab.json"), os.path.join(args.checkpoint, "merges.txt"))
    with open(args.text, encoding="utf-8") as f:
        text = f.read(args.max_tokens * 16)  # plenty: a token is a few characters
    ids = tok.encode(text)[:args.max_tokens]
    model = load_model(args.checkpoint)
    model.eval()
    ctx = model.config.n_positions
    windows = [ids[i:i + ctx] for i in range(0, len(ids), ctx)]
    print(f"{len(ids)} tokens in {len(windows)} windows of <= {ctx}", file=sys.stderr)

    ref_logits = logits_of(args.hmoe, f32, windows, work, args.threads)
    ref_sel, torch_logits = expert_selections(model, windows)
    # The C++ runtime and the reference must agree at f32, or the flip counts below
    # (made with the reference) would not describe the runtime.
    ref_gap = np.abs(torch_logits - ref_logits).max()
    n_sel = ref_sel.shape[0] * ref_sel.shape[1]

    rows = []
    for name, _, router in VARIANTS:
        got = logits_of(args.hmoe, files[name], windows, work, args.threads)
        cos_mean, cos_min, top1, rel = compare_logits(ref_logits, got)
        flips = {}
        for only_router in (False, True):
            m = load_model(args.checkpoint)
            m.eval()
            changed = load_variant_weights(m, files[name], only_router)
            sel, _ = expert_selections(m, windows)
            diff = (sel != ref_sel).any(dim=2).sum().item()
            flips[only_router] = "-" if only_router and changed == 0 else f"{100.0 * diff / n_sel:.2f}"
        size = os.path.getsize(files[name]) / 2**20
        rows.append((name, "quantised" if router else "f32", f"{size:.2f}", f"{cos_mean:.6f}",
                     f"{cos_min:.5f}", f"{top1:.2f}", f"{rel:.4f}", flips[False], flips[True]))
        print(f"  {name}: done ({time.time() - t0:.0f} s)", file=sys.stderr)

    header = ("variant", "router", "MiB", "mean cos", "min cos", "top-1 agree %", "max rel err",
              "routing flips %, whole model", "routing flips %, router only")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    cfg = model.config
    summary = (f"{len(ids)} tokens, {len(windows)} windows of {ctx}; d={cfg.n_embd}, L={cfg.n_layer}, "
               f"N={cfg.n_experts}, k={cfg.k}; f32 file {os.path.getsize(f32) / 2**20:.2f} MiB; "
               f"{n_sel} (token, layer) selections; f32 C++ vs PyTorch max |dlogit| {ref_gap:.2e}; "
               f"{time.time() - t0:.0f} s")
    table = "\n".join(lines)
    print(summary)
    print(table)
    if args.readme:
        with open(args.readme, "a", encoding="utf-8") as f:
            f.write(f"\n### {args.label or os.path.basename(os.path.normpath(args.checkpoint))}\n\n"
                    f"{summary}\n\n{table}\n")


if __name__ == "__main__":
    main()
