"""What the CLI test scripts share: a tally of named checks, running `hmoe`, and the
check that a usage error exits 2 with one line on stderr and nothing on stdout.

    import cli_checks as cc
    cc.HMOE = sys.argv[1]
    cc.check("name", ok, "detail shown when it fails")
    sys.exit(cc.summary())
"""
import subprocess

HMOE = "hmoe"  # the binary under test; scripts set it from their arguments
passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {name}" + (f"\n  {detail}" if detail else ""))


def hmoe(*args, stdin=None, timeout=120):
    r = subprocess.run([HMOE, *args], capture_output=True, input=stdin, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def usage_error(name, args, expect_in_message):
    rc, out, err = hmoe(*args)
    lines = err.strip().split("\n")
    check(f"{name}: exit 2", rc == 2, f"exit {rc}, stderr {err!r}")
    check(f"{name}: one-line message", len(lines) == 1 and lines[0].startswith("hmoe "), repr(err))
    check(f"{name}: message names the problem", expect_in_message in err, repr(err))
    check(f"{name}: nothing on stdout", out == "", repr(out))


def summary():
    """Prints the tally; returns the script's exit status."""
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
