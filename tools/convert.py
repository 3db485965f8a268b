#!/usr/bin/python3
"""Converts a GPT-2 HyperMoE or Switch Transformer (HyperMoE) checkpoint to a .hmoe file.

    tools/convert.py CHECKPOINT_DIR -o OUT.hmoe [--dtype f32|f16] [--name NAME] [--n-positions N]

CHECKPOINT_DIR holds config.json and pytorch_model.bin or model.safetensors, and
optionally the tokenizer: GPT-2's vocab.json + merges.txt, or T5's spiece.model. The
architecture comes from config.json (model_type "switch_transformers" or a
SwitchTransformers* entry in architectures: Switch; otherwise GPT-2). Every tensor is
checked (names, shapes, config values) before anything is written; a refusal names
what is wrong and exits 1.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hmoe_ref import __version__  # noqa: E402
from hmoe_ref.atomic_file import atomic_output  # noqa: E402
from hmoe_ref import switch_convert_map  # noqa: E402
from hmoe_ref.checkpoint import checkpoint_arch, read_tensors  # noqa: E402
from hmoe_ref.config import HyperMoEConfig  # noqa: E402
from hmoe_ref.convert_map import ConversionError, check_tensors, hparams_of, plan_tensors  # noqa: E402
from hmoe_ref.file_layout import F16, F32  # noqa: E402
from hmoe_ref.hmoe_writer import write_hmoe  # noqa: E402
from hmoe_ref.schema import Arch  # noqa: E402
from hmoe_ref.switch_config import SwitchConfig  # noqa: E402
from hmoe_ref.tokenizer_files import SentencePieceTokenizer, read_gpt2_tokenizer, read_spiece  # noqa: E402

PROGRESS_MIN_BYTES = 64 << 20  # smaller files convert in a blink: no bar


class ProgressBar:
    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.2:
            return
        self.last = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * 40)
        self.stream.write(f"\r  [{bar:<40}] {frac * 100:5.1f}%  {done >> 20} / {total >> 20} MiB")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def check_config_fits(hparams) -> None:
    """The schema stores dimensions as uint32 (decoder_start_token_id as int32)."""
    for key, value in hparams.items():
        limit = 2**31 if key == "decoder_start_token_id" else 2**32
        if isinstance(value, int) and not isinstance(value, bool) and value >= limit:
            raise ConversionError(f"config value {key} = {value} does not fit the file format")


def convert(ckpt_dir: str, out_path: str, dtype: str, name: str = "", quiet: bool = False,
            n_positions: int = switch_convert_map.DEFAULT_N_POSITIONS) -> int:
    # The destination is checked (and its temporary file made) before the checkpoint is
    # read; any refusal below leaves nothing behind (hmoe_ref/atomic_file.py).
    with atomic_output(out_path) as out:
        return _convert(ckpt_dir, out, dtype, name, quiet, n_positions)


def _convert(ckpt_dir: str, out, dtype: str, name: str, quiet: bool, n_positions: int) -> int:
    matrix_dtype = F16 if dtype == "f16" else F32
    if checkpoint_arch(ckpt_dir) == "switch":
        scfg = SwitchConfig.load(ckpt_dir)
        if n_positions < 1:
            raise ConversionError(f"--n-positions must be >= 1, got {n_positions}")
        hparams = switch_convert_map.hparams_of(scfg, n_positions)
        check_config_fits(hparams)
        tensors = read_tensors(ckpt_dir)
        switch_convert_map.check_tensors(scfg, tensors)
        tokenizer = SentencePieceTokenizer(read_spiece(ckpt_dir), eos_id=scfg.eos_token_id,
                                           pad_id=scfg.pad_token_id)
        plan = switch_convert_map.plan_tensors(scfg, tensors, matrix_dtype)
        arch = Arch.Arch.SWITCH_HYPERMOE
    else:
        cfg = HyperMoEConfig.load(ckpt_dir)
        hparams = hparams_of(cfg)
        check_config_fits(hparams)
        tensors = read_tensors(ckpt_dir)
        check_tensors(cfg, tensors)
        tokenizer = read_gpt2_tokenizer(ckpt_dir, cfg.vocab_size)
        plan = plan_tensors(cfg, tensors, matrix_dtype)
        arch = Arch.Arch.GPT2_HYPERMOE
    source = os.path.basename(os.path.normpath(os.path.abspath(ckpt_dir)))
    metadata = [("general.name", name or source), ("general.source", source),
                ("converter.version", __version__)]
    total = sum(t.size for t in plan)
    progress = ProgressBar() if total >= PROGRESS_MIN_BYTES and not quiet else None
    return write_hmoe(out, hparams, tokenizer, metadata, plan, progress, arch=arch)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="convert.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="folder with config.json and pytorch_model.bin or model.safetensors")
    ap.add_argument("-o", "--output", required=True, help="the .hmoe file to write")
    ap.add_argument("--dtype", choices=("f32", "f16"), default="f32",
                    help="dtype of the matrices (vectors and the router stay f32)")
    ap.add_argument("--name", default="", help="general.name (default: the checkpoint folder's name)")
    ap.add_argument("--n-positions", type=int, default=switch_convert_map.DEFAULT_N_POSITIONS,
                    help="Switch only: the longest encoder input and decoder context the file promises "
                         f"(default {switch_convert_map.DEFAULT_N_POSITIONS}; T5 has no position table)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        size = convert(args.checkpoint, args.output, args.dtype, args.name, args.quiet, args.n_positions)
    except (ValueError, OSError) as e:  # every refusal above is a ValueError naming the problem
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"wrote {args.output} ({size} bytes, matrices {args.dtype})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
