#!/usr/bin/env python3
"""CLI tests of `hmoe bench` on small synthetic models: its three outputs agree with each
other and with the command line (rows, baseline, labels), the bytes of weights a decode
token reads equal those computed here from the model's dims (formats/TENSORS.md's shapes), so
do the bytes of keys and values its attention reads (GPT-2 and Switch), two-thread rows
carry the threads' round trip, and
bad flags exit 2 with one line. Speeds are not asserted: they belong to the benchmark.

    test_bench_command.py HMOE_BIN
"""
import csv
import io
import json
import math
import statistics
import sys

import cli_checks
from cli_checks import check, hmoe, usage_error

cli_checks.HMOE = sys.argv[1]

DIMS = dict(d=64, L=2, N=4, k=2, b=32, H=32, V=256, P=64, e=32, pd=32, hin=32, le=4)
SPEC = ",".join(f"{k}={v}" for k, v in DIMS.items())
def fast(threads="1"):
    return ["-p", "8", "-n", "4", "-r", "2", "--warmup", "0", "-t", threads, "--bw-mib", "8"]


FAST = fast()


def f32_decode_bytes(config):
    """Bytes of f32 weights one decode token reads, from the dims alone."""
    d, L, N, k, b, H, V = (DIMS[x] for x in "d L N k b H V".split())
    e, pd, hin, le = DIMS["e"], DIMS["pd"], DIMS["hin"], DIMS["le"]
    per_layer = (4 * d                       # ln1, ln2 weights and biases
                 + 3 * d * d + 3 * d         # qkv
                 + d * d + d                 # attention output
                 + N * d                     # router
                 + k * (4 * d * d + 4 * d + d * 4 * d + d))  # k experts' fc and proj
    head = d + d + 2 * d + V * d             # token and position rows, ln_f, LM head
    hyper = 0
    if config == "cached":
        # One table entry per layer: Wd^T [b, d], Wu^T [d, b], biases; parts 64-byte aligned.
        align = lambda n: (n + 63) // 64 * 64
        hyper = L * (align(4 * b * d) * 2 + align(4 * b) + align(4 * d)) // 4
    if config == "pertoken":
        generator = le + H * (hin + le) + H + 2 * (d * b * H + d * b) + b * H + b + d * H + d
        hyper = L * ((N - k) * e + pd * e + pd + hin * pd + hin + generator)
    return 4 * (L * per_layer + head + hyper)


def mean_context(n):
    """Positions a decode token's attention reads, [0, n_past], over n tokens from empty."""
    return (n + 1) / 2


def gpt2_kv_bytes(n):
    """Bytes of f32 keys and values a GPT-2 decode token reads, averaged over n tokens."""
    return 4 * DIMS["L"] * 2 * DIMS["d"] * mean_context(n)


def check_kv(name, r, want):
    check(f"{name}: KV bytes per token {want}", math.isclose(r["kv_bytes_per_token"], want, rel_tol=1e-9),
          r["kv_bytes_per_token"])
    fractions = [(r["weight_bytes_per_token"] + r["kv_bytes_per_token"]) * r["n_tokens"] / s / 1e9 / b
                 for s, b in zip(r["seconds"], r["read_gbps_reps"])]
    check(f"{name}: fraction with KV = the median of each repetition's weights and KV over its probe",
          math.isclose(r["bw_fraction_with_kv"], statistics.median(fractions), rel_tol=1e-4), (r, fractions))


def check_switch():
    """An encoder-decoder's decode token reads its cross-attention's keys and values of
    the 64 encoded tokens at every step, beside its self-attention's."""
    Ld, heads, dkv, encoded = 2, 4, 16, 64
    spec = f"arch=switch,d=64,L=2,N=4,k=1,b=32,H=32,V=256,heads={heads},dkv={dkv},Ld={Ld},cap=8"
    rc, out, err = hmoe("bench", "--synthetic", spec, *FAST, "--configs", "moe", "-o", "json")
    check("switch json run exits 0", rc == 0, err)
    if rc != 0:
        return
    for r in json.loads(out)["results"]:
        if r["test"].startswith("tg"):
            want = 4 * Ld * 2 * heads * dkv * (mean_context(r["n_tokens"]) + encoded)
            check_kv(f'switch {r["test"]}', r, want)
        else:
            check("switch prefill: no KV figures", r["kv_bytes_per_token"] is None, r)


def check_round_trip():
    """Two-thread tg rows give the threads' round trip beside each probe (before, between
    and after the repetitions); one-thread rows none. A helper held up by another
    process can miss one, so the counts are at most, not exactly."""
    rc, out, err = hmoe("bench", "--synthetic", SPEC, *fast("1,2"), "--configs", "moe", "-p", "0", "-o", "json")
    check("two-thread json run exits 0", rc == 0, err)
    if rc != 0:
        return
    j = json.loads(out)
    for r in j["results"]:
        trips = r["round_trip_ns"]
        if r["threads"] == 1:
            check("one thread: no round trip", trips == [], trips)
        else:
            check("two threads: a round trip beside each probe at most",
                  len(trips) <= len(r["seconds"]) + 1 and all(t > 0 for t in trips), trips)
            if trips:
                check("two threads: the round trips in the header",
                      any(h.startswith("threads' round trip") for h in j["header"]), j["header"])


def main():
    rc, out, err = hmoe("bench", "--synthetic", SPEC, "--dtype", "f32,q8", *FAST, "-o", "json")
    check("json run exits 0", rc == 0, err)
    if rc != 0:
        return cli_checks.summary()
    j = json.loads(out)
    rows = j["results"]
    check("baseline is the first model's plain MoE", j["baseline"] == "f32 moe", j["baseline"])
    check("a row per test x model x configuration", len(rows) == 2 * 2 * 3, len(rows))
    keys = {(r["test"], r["weights"], r["config"]) for r in rows}
    check("every combination once", len(keys) == 12 and {w for _, w, _ in keys} == {"f32", "q8_0"}, sorted(keys))
    check("read bandwidth in the header", any(h.startswith("read bandwidth") for h in j["header"]), j["header"])
    for r in rows:
        name = f'{r["test"]} {r["weights"]} {r["config"]}'
        check(f"{name}: r repetitions", len(r["seconds"]) == 2 and all(s > 0 for s in r["seconds"]), r["seconds"])
        if r["weights"] == "f32" and r["config"] == "moe":
            check(f"{name}: baseline ratio 1", r["time_ratio"] == 1, r["time_ratio"])
        else:
            check(f"{name}: a positive ratio", r["time_ratio"] > 0, r["time_ratio"])
        if r["test"].startswith("pp"):
            check(f"{name}: no bandwidth figures for prefill",
                  r["weight_bytes_per_token"] is None and r["bw_fraction"] is None and
                  r["read_gbps_before"] is None and r["read_gbps_after"] is None, r)
            continue
        if r["weights"] == "f32":
            want = f32_decode_bytes(r["config"])
            check(f"{name}: weight bytes per token {want}", r["weight_bytes_per_token"] == want,
                  r["weight_bytes_per_token"])
        gbps = r["weight_bytes_per_token"] * r["tps_median"] / 1e9
        check(f"{name}: weights GB/s = bytes x tokens/s", math.isclose(r["weight_gbps"], gbps, rel_tol=1e-4),
              (r["weight_gbps"], gbps))
        beside = r["read_gbps_reps"]
        check(f"{name}: a probe beside each repetition", len(beside) == len(r["seconds"]) and
              all(b > 0 for b in beside), beside)
        check(f"{name}: read bandwidth probed before and after, the better one beside the first and last "
              "repetitions", r["read_gbps_before"] > 0 and r["read_gbps_after"] > 0 and
              beside[0] >= r["read_gbps_before"] and beside[-1] >= r["read_gbps_after"], r)
        check(f"{name}: read bandwidth = the median probe beside the repetitions",
              math.isclose(r["read_gbps"], statistics.median(beside), rel_tol=1e-4), r)
        fractions = [r["weight_bytes_per_token"] * r["n_tokens"] / s / 1e9 / b for s, b in zip(r["seconds"], beside)]
        check(f"{name}: fraction of read bandwidth = the median of each repetition's over its probe",
              math.isclose(r["bw_fraction"], statistics.median(fractions), rel_tol=1e-4), (r, fractions))
        check_kv(name, r, gpt2_kv_bytes(r["n_tokens"]))
    tg = {(r["weights"], r["config"]): r["weight_bytes_per_token"] for r in rows if r["test"] == "tg4"}
    ratio = tg[("q8_0", "moe")] / tg[("f32", "moe")]
    check("q8 reads a quarter to a half of f32's bytes", 0.2 < ratio < 0.5, ratio)
    check("per-token HyperExperts read the hypernetwork", tg[("f32", "pertoken")] > tg[("f32", "cached")] >
          tg[("f32", "moe")], tg)

    rc, out, err = hmoe("bench", "--synthetic", SPEC, *FAST, "--configs", "moe,cached", "-o", "csv")
    check("csv run exits 0", rc == 0, err)
    table = list(csv.DictReader(io.StringIO(out)))
    check("csv: a row per test x configuration", len(table) == 4, out)
    check("csv: columns", table and {"weights", "config", "time_ratio", "weight_gbps", "bw_fraction", "read_gbps_before",
                                     "read_gbps_after", "kv_bytes_per_token", "bw_fraction_with_kv"} <= set(table[0]),
          table[:1])
    check("csv: the synthetic dtype labels the rows", all(r["weights"] == "f32" for r in table), out)

    rc, out, err = hmoe("bench", "--synthetic", SPEC, *FAST, "--configs", "cached,moe")
    check("markdown run exits 0", rc == 0, err)
    check("markdown: the table's header", "| test | threads | weights | config |" in out, out)
    check("markdown: the baseline is moe whatever the order", "time vs moe" in out, out)

    check_switch()
    check_round_trip()

    usage_error("unknown dtype in a list", ["bench", "--synthetic", SPEC, "--dtype", "f32,q9"], "q9")
    usage_error("--dtype with a file", ["bench", "-m", "x.hmoe", "--dtype", "q8"], "--dtype")
    usage_error("empty file name in -m", ["bench", "-m", "x.hmoe,"], "empty file name")
    usage_error("negative --bw-mib", ["bench", "--synthetic", SPEC, "--bw-mib", "-1"], "--bw-mib")
    usage_error("unknown configuration", ["bench", "--synthetic", SPEC, "--configs", "moe,fast"], "fast")
    usage_error("q4 of dims its blocks do not divide", ["bench", "--synthetic", "d=48,b=16", "--dtype", "q4"], "")
    return cli_checks.summary()


if __name__ == "__main__":
    sys.exit(main())
