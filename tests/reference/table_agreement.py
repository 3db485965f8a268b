#!/usr/bin/python3
"""The converter and the C++ runtime agree on every architecture's tensor table.

The runtime declares each architecture's tensors once (runtime/model/*/..._arch.cpp);
the converter's only copy of them is its map from checkpoint names (convert_map.py,
switch_convert_map.py). For every test preset of both architectures, in f32 and f16,
the converted file must hold exactly the declared tensors (names, shapes, vectors f32):
`hmoe inspect --json` reports the runtime's structure check (check_model_file: nothing
missing, nothing unknown, every shape and dtype class as declared), so a change on one
side without the other fails here, naming the tensor.

    table_agreement.py --hmoe build/tools/hmoe --work DIR
"""
import argparse
import json
import os
import sys

from ref_common import TestFailure, check, hmoe_bin, quiet_call, run_hmoe

import convert
import make_checkpoint

GPT2_PRESETS = ("n8k2", "n8k1", "n16k2", "plain", "distinct")
SWITCH_PRESETS = ("sw-tied", "sw-untied", "sw-plain", "sw-distinct", "sw-capacity")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hmoe", default="")
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    binary = hmoe_bin(args.hmoe)
    os.makedirs(args.work, exist_ok=True)
    failures, checked = [], 0
    for arch, presets in (("gpt2", GPT2_PRESETS), ("switch", SWITCH_PRESETS)):
        for preset in presets:
            ckpt = os.path.join(args.work, preset)
            rc, _, err = quiet_call(make_checkpoint.main, ["--arch", arch, "--preset", preset, "--seed", "1", "-o", ckpt])
            check(rc == 0, f"make_checkpoint.py --preset {preset} failed ({rc}): {err}")
            for dtype in ("f32", "f16"):
                path = os.path.join(args.work, f"{preset}-{dtype}.hmoe")
                rc, _, err = quiet_call(convert.main, [ckpt, "-o", path, "--dtype", dtype, "-q"])
                check(rc == 0, f"convert.py {preset} --dtype {dtype} failed ({rc}): {err}")
                r = run_hmoe(binary, ["inspect", path, "--json"])
                check(r.returncode == 0, f"hmoe inspect {path} exited {r.returncode}: {r.stderr.strip()}")
                info = json.loads(r.stdout)
                checked += 1
                if info.get("structure_problem") is not None:
                    failures.append(f"{preset} {dtype}: {info['structure_problem']}")
                for t in info["tensors"]:
                    if len(t["shape"]) == 1 and t["dtype"] != "f32":
                        failures.append(f"{preset} {dtype}: vector '{t['name']}' is {t['dtype']}")
                os.remove(path)
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    if not failures:
        print(f"table_agreement: {checked} converted files (GPT-2 and Switch presets, f32 and f16) hold exactly "
              "the tensors the runtime declares")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
