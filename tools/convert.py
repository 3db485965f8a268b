#!/usr/bin/python3
"""Converts a GPT-2 HyperMoE checkpoint to a .hmoe file.

    tools/convert.py CHECKPOINT_DIR -o OUT.hmoe [--dtype f32|f16] [--name NAME]

CHECKPOINT_DIR holds config.json and pytorch_model.bin or model.safetensors, and
optionally GPT-2's vocab.json + merges.txt. Every tensor is checked (names, shapes,
config values) before anything is written; a refusal names what is wrong and exits 1.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hmoe_ref import __version__  # noqa: E402
from hmoe_ref.atomic_file import atomic_output  # noqa: E402
from hmoe_ref.checkpoint import read_tensors  # noqa: E402
from hmoe_ref.config import HyperMoEConfig  # noqa: E402
from hmoe_ref.convert_map import ConversionError, check_tensors, hparams_of, plan_tensors  # noqa: E402
from hmoe_ref.file_layout import F16, F32  # noqa: E402
from hmoe_ref.hmoe_writer import write_hmoe  # noqa: E402
from hmoe_ref.tokenizer_files import read_gpt2_tokenizer  # noqa: E402

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


def check_config_fits(cfg: HyperMoEConfig) -> None:
    """The schema stores dimensions as uint32."""
    for key, value in hparams_of(cfg).items():
        if isinstance(value, int) and not isinstance(value, bool) and value >= 2**32:
            raise ConversionError(f"config value {key} = {value} does not fit the file format (uint32)")


def convert(ckpt_dir: str, out_path: str, dtype: str, name: str = "", quiet: bool = False) -> int:
    # The destination is checked (and its temporary file made) before the checkpoint is
    # read; any refusal below leaves nothing behind.
    with atomic_output(out_path) as out:
        return _convert(ckpt_dir, out, dtype, name, quiet)


def _convert(ckpt_dir: str, out, dtype: str, name: str, quiet: bool) -> int:
    cfg = HyperMoEConfig.load(ckpt_dir)
    check_config_fits(cfg)
    tensors = read_tensors(ckpt_dir)
    check_tensors(cfg, tensors)
    tokenizer = read_gpt2_tokenizer(ckpt_dir, cfg.vocab_size)
    plan = plan_tensors(cfg, tensors, F16 if dtype == "f16" else F32)
    source = os.path.basename(os.path.normpath(os.path.abspath(ckpt_dir)))
    metadata = [("general.name", name or source), ("general.source", source),
                ("converter.version", __version__)]
    total = sum(t.size for t in plan)
    progress = ProgressBar() if total >= PROGRESS_MIN_BYTES and not quiet else None
    return write_hmoe(out, hparams_of(cfg), tokenizer, metadata, plan, progress)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="convert.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="folder with config.json and pytorch_model.bin or model.safetensors")
    ap.add_argument("-o", "--output", required=True, help="the .hmoe file to write")
    ap.add_argument("--dtype", choices=("f32", "f16"), default="f32",
                    help="dtype of the matrices (vectors and the router stay f32)")
    ap.add_argument("--name", default="", help="general.name (default: the checkpoint folder's name)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        size = convert(args.checkpoint, args.output, args.dtype, args.name, args.quiet)
    except (ValueError, OSError) as e:  # every refusal above is a ValueError naming the problem
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"wrote {args.output} ({size} bytes, matrices {args.dtype})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
