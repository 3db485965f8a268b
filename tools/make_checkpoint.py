#!/usr/bin/python3
"""Writes a seeded GPT-2 HyperMoE or Switch Transformer HyperMoE checkpoint in the
authors' layout, for tests and benchmarks.

    tools/make_checkpoint.py --preset n8k2 --seed 1 -o DIR [--tokenizer-from DIR]
    tools/make_checkpoint.py --vocab-size 1000 --n-embd 96 ... --seed 1 -o DIR
    tools/make_checkpoint.py --arch switch --preset sw-tied --seed 1 -o DIR [--tokenizer-from DIR]
    tools/make_checkpoint.py --arch switch --preset sw-tied --expert-capacity 3 ... -o DIR

DIR gets config.json and pytorch_model.bin (or model.safetensors with --safetensors).
Weights are scaled so the HyperExpert moves the logits clearly (hmoe_ref/init.py,
hmoe_ref/switch_init.py); the measured effect is printed, and a warning goes to stderr
when it is below 0.1. `--arch switch --help` lists the Switch fields and presets.
"""
import argparse
import dataclasses
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from hmoe_ref.checkpoint import save_checkpoint  # noqa: E402
from hmoe_ref.config import ConfigError, HyperMoEConfig  # noqa: E402
from hmoe_ref.init import hyper_effect, init_test_weights  # noqa: E402
from hmoe_ref.model import GPT2HyperMoE  # noqa: E402
from hmoe_ref.presets import PRESETS  # noqa: E402
from hmoe_ref.switch_config import SwitchConfig  # noqa: E402
from hmoe_ref.tokenizer_files import (MERGES_NAME, SPIECE_NAME, VOCAB_NAME, TokenizerFilesError,  # noqa: E402
                                      read_gpt2_tokenizer)

MIN_HYPER_EFFECT = 0.1
EFFECT_TOKENS = 64


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def build_config(args, config_class, presets):
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    raw = dict(presets[args.preset]) if args.preset else {}
    if config_class is SwitchConfig:
        raw.setdefault("router_jitter_noise", 0.0)
    for name in fields:
        value = getattr(args, name)
        if value is not None:
            raw[name] = value
    return config_class.from_dict(raw)


def main(argv=None) -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--arch", choices=("gpt2", "switch"), default="gpt2")
    arch = pre.parse_known_args(argv)[0].arch
    if arch == "switch":
        return make_switch(argv)
    ap = argparse.ArgumentParser(prog="make_checkpoint.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=("gpt2", "switch"), default="gpt2",
                    help="gpt2 (default) or switch (the Switch Transformer; see --arch switch --help)")
    ap.add_argument("--preset", choices=sorted(PRESETS), help="named dimensions; flags below override them")
    _add_config_flags(ap, HyperMoEConfig)
    _add_common_flags(ap, f"copy {VOCAB_NAME} and {MERGES_NAME} from DIR")
    args = ap.parse_args(argv)

    try:
        cfg = build_config(args, HyperMoEConfig, PRESETS)
        tok = read_gpt2_tokenizer(args.tokenizer_from, cfg.vocab_size) if args.tokenizer_from else None
        if args.tokenizer_from and tok is None:
            raise TokenizerFilesError(f"'{args.tokenizer_from}' has no {VOCAB_NAME} / {MERGES_NAME}")
    except (ConfigError, TokenizerFilesError) as e:
        print(f"make_checkpoint.py: error: {e}", file=sys.stderr)
        return 1

    torch.manual_seed(args.seed)
    model = GPT2HyperMoE(cfg)
    init_test_weights(model, args.seed)
    model.eval()
    ids = torch.randint(0, cfg.vocab_size, (1, min(EFFECT_TOKENS, cfg.n_positions)),
                        generator=torch.Generator().manual_seed(args.seed))
    effect = hyper_effect(model, ids) if cfg.hyper else 0.0
    path = save_checkpoint(model, args.output, safetensors=args.safetensors)
    if tok is not None:
        for name in (VOCAB_NAME, MERGES_NAME):
            shutil.copyfile(os.path.join(args.tokenizer_from, name), os.path.join(args.output, name))

    n_params = sum(p.numel() for p in model.parameters())
    print(f"wrote {path}: {n_params} parameters, seed {args.seed}")
    _report_effect(effect, cfg.hyper, "")
    return 0


def _add_config_flags(ap, config_class) -> None:
    for f in dataclasses.fields(config_class):
        kind = {"int": int, "float": float, "bool": _bool}[str(f.type)]  # annotations are strings
        ap.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=None,
                        metavar=f.name.upper())


def _add_common_flags(ap, tokenizer_help: str) -> None:
    ap.add_argument("--seed", type=int, default=0, help="weights are a pure function of the seed")
    ap.add_argument("-o", "--output", required=True, help="checkpoint folder to write")
    ap.add_argument("--tokenizer-from", metavar="DIR", help=tokenizer_help)
    ap.add_argument("--safetensors", action="store_true", help="write model.safetensors instead of a .bin")


def _report_effect(effect, hyper: bool, what: str) -> None:
    if hyper:
        print(f"HyperExpert effect: max|logits - logits without it| / max|logits| = {effect:.3f}{what}")
        if effect < MIN_HYPER_EFFECT:
            print(f"make_checkpoint.py: warning: HyperExpert effect {effect:.3f} is below {MIN_HYPER_EFFECT}: "
                  "a wrong HyperExpert could pass a comparison", file=sys.stderr)
    else:
        print("HyperExpert: off (plain MoE)")


def make_switch(argv) -> int:
    """--arch switch: a Switch Transformer (HyperMoE) checkpoint."""
    from hmoe_ref.checkpoint import save_checkpoint as save
    from hmoe_ref.switch_init import hyper_effect as switch_effect, init_test_weights as switch_init
    from hmoe_ref.switch_model import SwitchHyperMoE
    from hmoe_ref.switch_presets import SWITCH_PRESETS

    ap = argparse.ArgumentParser(prog="make_checkpoint.py --arch switch", description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=("gpt2", "switch"), default="switch")
    ap.add_argument("--preset", choices=sorted(SWITCH_PRESETS), help="named dimensions; flags below override them")
    _add_config_flags(ap, SwitchConfig)
    _add_common_flags(ap, f"copy {SPIECE_NAME} from DIR")
    args = ap.parse_args(argv)
    try:
        cfg = build_config(args, SwitchConfig, SWITCH_PRESETS)
        if args.tokenizer_from and not os.path.exists(os.path.join(args.tokenizer_from, SPIECE_NAME)):
            raise TokenizerFilesError(f"'{args.tokenizer_from}' has no {SPIECE_NAME}")
    except (ConfigError, TokenizerFilesError) as e:
        print(f"make_checkpoint.py: error: {e}", file=sys.stderr)
        return 1

    torch.manual_seed(args.seed)
    model = SwitchHyperMoE(cfg)
    switch_init(model, args.seed)
    model.eval()
    gen = torch.Generator().manual_seed(args.seed)
    enc = torch.randint(0, cfg.vocab_size, (1, EFFECT_TOKENS), generator=gen)
    dec = torch.randint(0, cfg.vocab_size, (1, EFFECT_TOKENS // 4), generator=gen)
    dec[0, 0] = cfg.decoder_start_token_id
    effect = switch_effect(model, enc, dec) if cfg.hyper else 0.0
    path = save(model, args.output, safetensors=args.safetensors)
    if args.tokenizer_from:
        shutil.copyfile(os.path.join(args.tokenizer_from, SPIECE_NAME), os.path.join(args.output, SPIECE_NAME))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"wrote {path}: {n_params} parameters, seed {args.seed}")
    _report_effect(effect, cfg.hyper, f" ({EFFECT_TOKENS} encoder, {EFFECT_TOKENS // 4} decoder tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
