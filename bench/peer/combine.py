#!/usr/bin/python3
"""Side-by-side table of llama-bench's and `hmoe bench`'s JSON (bench/peer/run_peer.sh).

    combine.py LLAMA_SRC LLAMA.json HMOE.json Q8.gguf Q4.gguf

Decode speed is also given as the weights' bytes one token reads times tokens per second
(weights GB/s) and as a fraction of the read bandwidth hmoe bench measured in the same
run for that thread count: the same probe for both programs. llama.cpp's bytes per token
come from the GGUF's tensor sizes: attention, router and norms of every layer, `used` of
the `experts` experts' three matrices, the token embedding's row and the tied LM head.
"""
import json
import os
import sys


def gguf_bytes_per_token(src, path):
    sys.path.insert(0, os.path.join(src, "gguf-py"))
    import gguf  # noqa: E402

    r = gguf.GGUFReader(path)
    kv = {f.name: f for f in r.fields.values()}

    def scalar(key):
        f = kv[key]
        return int(f.parts[f.data[0]][0])

    n_exp, n_used = scalar("llama.expert_count"), scalar("llama.expert_used_count")
    total = 0
    for t in r.tensors:
        n = int(t.n_bytes)
        if "_exps." in t.name:
            total += n * n_used // n_exp
        elif t.name == "token_embd.weight":
            total += n + n // int(t.shape[-1] if len(t.shape) > 1 else 1)  # the head, plus one embedding row
        else:
            total += n
    return total


def main():
    src, lj, hj, q8, q4 = sys.argv[1:6]
    llama = json.load(open(lj))
    hm = json.load(open(hj))
    per_token = {"q8": gguf_bytes_per_token(src, q8), "q4": gguf_bytes_per_token(src, q4)}
    probe = {}
    for row in hm["results"]:
        if row.get("read_gbps"):
            probe[row["threads"]] = row["read_gbps"]

    def llama_row(kind, test, threads):
        want = "q8_0" if kind == "q8" else "q4_0"
        for row in llama:
            name = os.path.basename(row["model_filename"]).lower()
            is_pp = row["n_prompt"] > 0 and row["n_gen"] == 0
            if want in name and row["n_threads"] == threads and (
                (test.startswith("pp") and is_pp) or (test.startswith("tg") and not is_pp)
            ):
                return row
        return None

    def hm_row(kind, test, threads, config):
        want = "q8_0" if kind == "q8" else "q4_0"
        for row in hm["results"]:
            if row["weights"] == want and row["test"] == test and row["threads"] == threads and row["config"] == config:
                return row
        return None

    print("| test | weights | threads | llama.cpp t/s | hypermoe moe t/s | hypermoe cached t/s |"
          " llama.cpp weights GB/s (of probe) | hypermoe cached weights GB/s (of probe) | probe GB/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    tests = sorted({r["test"] for r in hm["results"]}, key=lambda t: (t[:2] != "pp", t))
    for test in tests:
        for kind in ("q8", "q4"):
            for threads in sorted({r["threads"] for r in hm["results"]}):
                lr = llama_row(kind, test, threads)
                mo, ca = hm_row(kind, test, threads, "moe"), hm_row(kind, test, threads, "cached")
                l_ts = lr["avg_ts"] if lr else float("nan")
                cells = [test, kind, str(threads), f"{l_ts:.1f}",
                         f"{mo['tps_median']:.1f}" if mo else "-", f"{ca['tps_median']:.1f}" if ca else "-"]
                bw = probe.get(threads)
                if test.startswith("tg") and bw:
                    lg = per_token[kind] * l_ts / 1e9
                    hg = ca["weight_gbps"] if ca and ca.get("weight_gbps") else float("nan")
                    cells += [f"{lg:.1f} ({100 * lg / bw:.0f}%)", f"{hg:.1f} ({100 * hg / bw:.0f}%)", f"{bw:.1f}"]
                else:
                    cells += ["", "", ""]
                print("| " + " | ".join(cells) + " |")
    print()
    print(f"llama.cpp bytes per token: q8 {per_token['q8'] / 1e6:.1f} MB, q4 {per_token['q4'] / 1e6:.1f} MB; "
          "hypermoe's are in its own table (weight_bytes_per_token).")


if __name__ == "__main__":
    main()
