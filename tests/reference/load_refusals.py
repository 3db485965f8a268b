#!/usr/bin/python3
"""`hmoe logits` on truncated and bit-flipped .hmoe files: exit 1 with a message on
stderr where a reader must notice, and never a crash (death by a signal) or a hang
anywhere.

Must be refused (exit 1): every truncation; flips in the prefix's magic, version,
header offset, data offset and data size; flips in a tensor's name, dtype, shape,
offset or size (the writer packs tensors tightly, so any change of these breaks a
size, an alignment, a range, an overlap or a name lookup).
Must not crash (exit 0 or 1): flips in the hyper-parameters and anywhere else in the
prefix and header, where some changes leave a valid file (a flipped metadata byte).

    load_refusals.py --hmoe build/tools/hmoe --work DIR [--seeds 5]
"""
import argparse
import os
import random
import sys

from ref_common import TestFailure, check, hmoe_bin, make_model, run_hmoe

from hmoe_ref.hmoe_file import HPARAM_FIELDS, read_hmoe

IDS = "1,2,3"
RUN_TIMEOUT_S = 30
# FilePrefix fields whose every change a reader must notice: (name, first byte, size).
PREFIX_MUST_REFUSE = [("magic", 0, 8), ("format_version", 8, 4), ("header_offset", 16, 8),
                      ("data_offset", 32, 8), ("data_size", 40, 8)]
TENSOR_FIELDS = {"name": 4, "dtype": 6, "shape": 8, "offset": 10, "size": 12}  # vtable slots


class Runner:
    def __init__(self, binary, path):
        self.binary, self.path = binary, path
        self.counts = {"refused": 0, "accepted": 0}

    def run(self, what, must_refuse):
        r = run_hmoe(self.binary, ["logits", "-m", self.path, "--ids", IDS], timeout=RUN_TIMEOUT_S)
        if r.returncode is None:
            raise TestFailure(f"{what}: hmoe logits hung (> {RUN_TIMEOUT_S} s)")
        if r.returncode < 0:
            raise TestFailure(f"{what}: hmoe logits died of signal {-r.returncode}: {r.stderr.strip()[-500:]}")
        if r.returncode != 0:
            check(r.stderr.strip() != "", f"{what}: exit {r.returncode} without a message on stderr")
            self.counts["refused"] += 1
        else:
            self.counts["accepted"] += 1
        if must_refuse:
            check(r.returncode == 1, f"{what}: hmoe logits exited {r.returncode}, expected 1 "
                  f"(stderr: {r.stderr.strip()[-300:]!r})")
        return r


def tensor_field_spans(f):
    """(tensor, field) -> (first byte in the file, length) for fields present in the header."""
    m, base = f.model, f.prefix.header_offset
    spans = {}
    for i in range(m.TensorsLength()):
        t = m.Tensors(i)
        tab = t._tab
        name = t.Name().decode()
        for field, slot in TENSOR_FIELDS.items():
            o = tab.Offset(slot)
            if o == 0:  # a default value (dtype f32, offset 0) is not stored
                continue
            if field == "name":
                start = tab.Indirect(tab.Pos + o)
                spans[(name, field)] = (base + start + 4, len(name))
            elif field == "shape":
                spans[(name, field)] = (base + tab.Vector(o), 8 * t.ShapeLength())
            else:
                spans[(name, field)] = (base + tab.Pos + o, 1 if field == "dtype" else 8)
    return spans


def hparam_spans(f):
    hp = f.model.Hparams()
    tab, base = hp._tab, f.prefix.header_offset
    spans = {}
    for index in range(len(HPARAM_FIELDS)):
        o = tab.Offset(4 + 2 * index)
        if o:
            spans[index] = (base + tab.Pos + o, 1 if index == 8 else 4)  # use_hypernet is a bool
    return spans


def flipped(path, data, pos, mask, fn):
    """Runs fn() with byte `pos` of the file XOR-ed with `mask`, then restores it."""
    with open(path, "r+b") as fh:
        fh.seek(pos)
        fh.write(bytes([data[pos] ^ mask]))
    try:
        return fn()
    finally:
        with open(path, "r+b") as fh:
            fh.seek(pos)
            fh.write(data[pos:pos + 1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hmoe", default="")
    ap.add_argument("--work", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--random-flips", type=int, default=20, help="per seed")
    args = ap.parse_args()
    binary = hmoe_bin(args.hmoe)
    _, good, _ = make_model("n8k2", 3, args.work)
    f = read_hmoe(good)
    data = open(good, "rb").read()
    victim = os.path.join(args.work, "victim.hmoe")

    runner = Runner(binary, victim)
    with open(victim, "wb") as fh:
        fh.write(data)
    r = runner.run("the intact file", must_refuse=False)
    check(r.returncode == 0, f"hmoe logits refuses the intact file (exit {r.returncode}): {r.stderr.strip()}")
    runner.counts["accepted"] -= 1

    pre = f.prefix
    for n in sorted({0, 8, 63, 64, 65, pre.header_offset + pre.header_size // 2,
                     pre.header_offset + pre.header_size, pre.data_offset,
                     pre.data_offset + pre.data_size // 2, len(data) - 1}):
        with open(victim, "wb") as fh:
            fh.write(data[:n])
        runner.run(f"file truncated to {n} of {len(data)} bytes", must_refuse=True)
    with open(victim, "wb") as fh:
        fh.write(data)

    tspans = tensor_field_spans(f)
    hspans = hparam_spans(f)
    check(any(k[1] == "shape" for k in tspans), "no tensor shapes found in the header")
    for seed in range(args.seeds):
        rng = random.Random(seed)
        for field, start, size in PREFIX_MUST_REFUSE:
            pos, mask = start + rng.randrange(size), 1 << rng.randrange(8)
            flipped(victim, data, pos, mask, lambda: runner.run(
                f"seed {seed}: prefix {field} byte {pos} ^ {mask:#x}", must_refuse=True))
        for field in TENSOR_FIELDS:
            keys = [k for k in tspans if k[1] == field]
            if not keys:
                continue
            key = rng.choice(keys)
            start, size = tspans[key]
            pos, mask = start + rng.randrange(size), rng.randrange(1, 256)
            flipped(victim, data, pos, mask, lambda: runner.run(
                f"seed {seed}: tensor '{key[0]}' {field}, byte {pos} ^ {mask:#x}", must_refuse=True))
        for index, (start, size) in hspans.items():
            pos, mask = start + rng.randrange(size), 1 << rng.randrange(8)
            flipped(victim, data, pos, mask, lambda: runner.run(
                f"seed {seed}: hparams.{HPARAM_FIELDS[index]}, byte {pos} ^ {mask:#x}", must_refuse=False))
        for _ in range(args.random_flips):
            pos, mask = rng.randrange(pre.header_offset + pre.header_size), rng.randrange(1, 256)
            flipped(victim, data, pos, mask, lambda: runner.run(
                f"seed {seed}: byte {pos} ^ {mask:#x}", must_refuse=False))
    print(f"{runner.counts['refused'] + runner.counts['accepted']} damaged files: "
          f"{runner.counts['refused']} refused with a message, {runner.counts['accepted']} accepted "
          f"(harmless flips), no crash, no hang")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
