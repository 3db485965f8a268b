#!/usr/bin/python3
"""`cmake --install` into a prefix inside the build tree, then the example app
(tools/example_app) built out of tree against it three ways: find_package with the
shared library, find_package with the static one, and pkg-config. Each build must
continue the reference prompt with the PyTorch reference's greedy tokens, from ids
and from text, and compile without the library's private flags (Highway's
-DHWY_SHARED_DEFINE). The install must also hold the `hmoe` CLI and the shipped model,
which the installed CLI finds on its own (tests/BAD_INPUTS.md, row U01).

    install_example_test.py --cmake CMAKE --build-dir BUILD --example tools/example_app
                            --work DIR --models MODELS [--config Release]
"""
import argparse
import os
import shutil
import subprocess
import sys

VARIANTS = {
    "find_package-shared": [],
    "find_package-static": ["-DHYPERMOE_EXAMPLE_STATIC=ON"],
    "pkg-config": ["-DHYPERMOE_EXAMPLE_PKGCONFIG=ON"],
}


def run(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, errors="replace")
    if r.returncode != 0:
        sys.exit(f"FAILED ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r.stdout


def read_reference(path):
    ref = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            ref[key] = value
    return ref["prompt"], [int(t) for t in ref["prompt_ids"].split()], [int(t) for t in ref["greedy"].split()]


def generated_ids(stdout):
    for line in stdout.splitlines():
        if line.startswith("ids: "):
            return [int(t) for t in line[5:].split(",") if t]
    sys.exit(f"the example printed no 'ids:' line:\n{stdout}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cmake", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--example", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--config", default="Release")
    args = ap.parse_args()
    for name in ("build_dir", "example", "work", "models"):
        setattr(args, name, os.path.abspath(getattr(args, name)))

    if os.path.exists(args.work):
        shutil.rmtree(args.work)
    prefix = os.path.join(args.work, "prefix")
    run([args.cmake, "--install", args.build_dir, "--prefix", prefix, "--config", args.config])
    installed = sorted(os.path.relpath(os.path.join(d, f), prefix) for d, _, fs in os.walk(prefix) for f in fs)
    print("installed:\n  " + "\n  ".join(installed))
    for want in ("include/hypermoe.h", "include/hypermoe.hpp", "hypermoe.pc", "hypermoeConfig.cmake",
                 "libhypermoe.a", "libhypermoe.so", "bin/hmoe", "share/hypermoe/models/kjv-hypermoe-q8.hmoe"):
        if not any(p.endswith(want) for p in installed):
            sys.exit(f"the install lacks {want}")
    pc_dirs = sorted({os.path.join(prefix, os.path.dirname(p)) for p in installed if p.endswith("hypermoe.pc")})
    # The installed CLI runs the installed model without being told where it is.
    env = {k: v for k, v in os.environ.items() if k != "HMOE_MODEL"}
    out = run([os.path.join(prefix, "bin", "hmoe"), "run", "-p", "And God said", "-n", "3", "--temp", "0", "-t", "1"],
              env=env, cwd="/")
    print(f"installed hmoe run: {out.strip()!r}")

    model = os.path.join(args.models, "n8k2.hmoe")
    prompt, prompt_ids, greedy = read_reference(os.path.join(args.models, "n8k2.ref"))
    env = dict(os.environ, PKG_CONFIG_PATH=os.pathsep.join(pc_dirs))
    failures = []
    for name, options in VARIANTS.items():
        build = os.path.join(args.work, name)
        run([args.cmake, "-S", args.example, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}",
             f"-DCMAKE_BUILD_TYPE={args.config}", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"] + options, env=env)
        run([args.cmake, "--build", build, "--config", args.config], env=env)
        with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
            commands = f.read()
        if "HWY" in commands:
            failures.append(f"{name}: the library's private Highway flags reach the consumer: {commands[:2000]}")
        exe = os.path.join(build, "hypermoe_example")
        n = str(len(greedy))
        from_ids = generated_ids(run([exe, "-m", model, "--ids", ",".join(map(str, prompt_ids)), "-n", n, "-t", "1"]))
        from_text = generated_ids(run([exe, "-m", model, "-p", prompt, "-n", n, "-t", "1"]))
        for what, got in (("ids", from_ids), ("prompt", from_text)):
            status = "ok" if got == greedy else "DIFFERS"
            print(f"{name}: from {what}: {got} {status}")
            if got != greedy:
                failures.append(f"{name} from {what}: {got}, reference {greedy}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"all {len(VARIANTS)} builds give the reference's {len(greedy)} greedy tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
