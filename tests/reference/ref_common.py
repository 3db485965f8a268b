"""Shared by the reference test scripts: paths, building a test model, running `hmoe`."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from typing import List, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPO, "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

RUN_TIMEOUT_S = 60


class TestFailure(AssertionError):
    pass


def check(cond: bool, message: str) -> None:
    if not cond:
        raise TestFailure(message)


def quiet_call(fn, argv: Sequence[str]) -> Tuple[int, str, str]:
    """Runs a tool's main(argv) in this process (no second torch import): (rc, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = fn(list(argv))
        except SystemExit as e:  # argparse errors
            rc = e.code if isinstance(e.code, int) else 1
    return rc, out.getvalue(), err.getvalue()


def make_model(preset: str, seed: int, work: str, dtype: str = "f32") -> Tuple[str, str, str]:
    """Checkpoint folder + converted .hmoe under `work`; returns (ckpt_dir, hmoe_path, make's stdout)."""
    import convert  # tools/convert.py; imported here since both load torch
    import make_checkpoint  # tools/make_checkpoint.py
    os.makedirs(work, exist_ok=True)
    ckpt = os.path.join(work, f"{preset}-s{seed}")
    rc, out, err = quiet_call(make_checkpoint.main, ["--preset", preset, "--seed", str(seed), "-o", ckpt])
    check(rc == 0, f"make_checkpoint.py failed ({rc}): {err}")
    path = os.path.join(work, f"{preset}-s{seed}-{dtype}.hmoe")
    rc, _, err = quiet_call(convert.main, [ckpt, "-o", path, "--dtype", dtype, "-q"])
    check(rc == 0, f"convert.py failed ({rc}): {err}")
    return ckpt, path, out


def hmoe_bin(argv_value: str = "") -> str:
    path = argv_value or os.environ.get("HMOE_BIN", "")
    check(bool(path) and os.path.exists(path), f"the hmoe binary is not at '{path}' (pass --hmoe or set HMOE_BIN)")
    return path


def run_hmoe(binary: str, args: List[str], timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Runs `hmoe ARGS`; a timeout is reported as returncode None."""
    try:
        return subprocess.run([binary] + args, capture_output=True, text=True, timeout=timeout,
                              errors="replace")
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, None, e.stdout or "", e.stderr or "")


def ids_arg(ids: Sequence[int]) -> str:
    return ",".join(str(int(i)) for i in ids)
