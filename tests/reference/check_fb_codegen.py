#!/usr/bin/python3
"""The committed Python FlatBuffers code (tools/hmoe_ref/fb/) is what flatc makes of
formats/hmoe.fbs today, and the Python header verifier knows every field of it.

    check_fb_codegen.py --flatc FLATC --work DIR
To refresh after a schema change: flatc --python -o tools/hmoe_ref/fb formats/hmoe.fbs
"""
import argparse
import filecmp
import importlib
import os
import shutil
import subprocess
import sys

from ref_common import REPO, TestFailure, check

from hmoe_ref import fb_verify, schema

COMMITTED = os.path.join(REPO, "tools", "hmoe_ref", "fb")
SCHEMA = os.path.join(REPO, "formats", "hmoe.fbs")


def files_under(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            if "__pycache__" not in d and not n.endswith(".pyc"):
                out.add(os.path.relpath(os.path.join(d, n), root))
    return out


class _FieldCounter:
    """Stands in for a Builder: Start(builder) reveals a table's field count."""
    def StartObject(self, n):
        self.n = n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flatc", default="flatc")
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    fresh = os.path.join(args.work, "fb")
    shutil.rmtree(fresh, ignore_errors=True)
    os.makedirs(fresh)
    r = subprocess.run([args.flatc, "--python", "-o", fresh, SCHEMA], capture_output=True, text=True)
    check(r.returncode == 0, f"flatc failed: {r.stderr.strip()}")
    want, have = files_under(fresh), files_under(COMMITTED)
    check(want == have, f"generated files differ: only fresh {sorted(want - have)}, only committed "
          f"{sorted(have - want)}; regenerate with: flatc --python -o tools/hmoe_ref/fb formats/hmoe.fbs")
    stale = [f for f in sorted(want) if not filecmp.cmp(os.path.join(fresh, f), os.path.join(COMMITTED, f),
                                                        shallow=False)]
    check(not stale, f"committed {stale} differ from flatc's output; regenerate with: "
          "flatc --python -o tools/hmoe_ref/fb formats/hmoe.fbs")
    print(f"tools/hmoe_ref/fb: {len(want)} files identical to flatc --python of formats/hmoe.fbs")
    for table, fields in fb_verify.SCHEMA.items():
        mod = importlib.import_module(f"hmoe.fb.{table}")
        counter = _FieldCounter()
        mod.Start(counter)
        check(counter.n == len(fields), f"fb_verify.SCHEMA['{table}'] lists {len(fields)} fields, "
              f"the schema has {counter.n}: update tools/hmoe_ref/fb_verify.py")
    print(f"fb_verify knows every field of {len(fb_verify.SCHEMA)} tables")
    assert schema.FB_DIR
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
