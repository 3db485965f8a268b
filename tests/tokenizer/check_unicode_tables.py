#!/usr/bin/env python3
"""Checks that runtime/text/unicode_tables.inc is what tools/gen_unicode_tables.py
makes. Exits 77 (skipped) when this Python's Unicode version is not the one the
committed tables name, since the generator would then rightly produce other tables.

    check_unicode_tables.py REPO_ROOT
"""
import os
import re
import subprocess
import sys
import unicodedata

root = sys.argv[1]
committed_path = os.path.join(root, "runtime", "text", "unicode_tables.inc")
with open(committed_path, encoding="ascii") as f:
    committed = f.read()
m = re.search(r'kUnicodeTablesVersion\[\] = "([0-9.]+)"', committed)
if not m:
    sys.exit("unicode_tables.inc names no Unicode version")
if m.group(1) != unicodedata.unidata_version:
    print(f"SKIPPED: tables are Unicode {m.group(1)}, this Python has {unicodedata.unidata_version}")
    sys.exit(77)
fresh = subprocess.run([sys.executable, os.path.join(root, "tools", "gen_unicode_tables.py")],
                       check=True, capture_output=True, text=True).stdout
if fresh != committed:
    sys.exit("runtime/text/unicode_tables.inc is out of date: run tools/gen_unicode_tables.py")
print(f"unicode_tables.inc matches the generator (Unicode {unicodedata.unidata_version})")
