#!/usr/bin/python3
"""Writes a random Mixtral-architecture model (GGUF, f16) of hypermoe's benchmark dims,
for llama.cpp to quantize and run beside `hmoe bench --synthetic` (bench/peer/README.md).

The experts are SwiGLU (gate, up: [ff, d]; down: [d, ff]); with ff = 2/3 of hypermoe's
4d GELU expert width they hold as many weights, so a token reads as many bytes and does as
many multiply-adds in the experts as hypermoe's. The LM head is tied to the token
embedding (no output.weight), as GPT-2's is. The vocabulary is filler (byte tokens and
made-up pieces): llama-bench feeds random token ids.

    make_mixtral_gguf.py LLAMA_SRC OUT.gguf [--d 768] [--layers 12] [--experts 8] [--used 2]
                         [--ff 2048] [--vocab 50257] [--ctx 1024] [--heads 12] [--seed 1]

LLAMA_SRC is a llama.cpp source tree: its gguf-py package writes the file (numpy only).
"""
import argparse
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("llama_src")
    ap.add_argument("out")
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--used", type=int, default=2)
    ap.add_argument("--ff", type=int, default=2048)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.llama_src, "gguf-py"))
    try:
        import gguf  # noqa: E402
    except ImportError as e:
        sys.exit(f"make_mixtral_gguf: cannot import gguf from {a.llama_src}/gguf-py: {e}")

    rng = np.random.default_rng(a.seed)

    def rand(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("hypermoe-peer-mixtral")
    w.add_context_length(a.ctx)
    w.add_embedding_length(a.d)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(a.ff)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.heads)
    w.add_rope_dimension_count(a.d // a.heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_expert_count(a.experts)
    w.add_expert_used_count(a.used)
    w.add_file_type(1)  # mostly f16

    # SentencePiece-style filler vocabulary: <unk> <s> </s>, the 256 byte tokens, pieces.
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256  # unknown, control, control, byte
    while len(tokens) < a.vocab:
        tokens.append(f"\u2581t{len(tokens)}")
        types.append(1)  # normal
    tokens, types = tokens[: a.vocab], types[: a.vocab]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([-float(i) for i in range(a.vocab)])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)

    ones = np.ones(a.d, dtype=np.float32)
    w.add_tensor("token_embd.weight", rand(a.vocab, a.d))
    w.add_tensor("output_norm.weight", ones)
    for i in range(a.layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones)
        for n in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(p + n + ".weight", rand(a.d, a.d))
        w.add_tensor(p + "ffn_norm.weight", ones)
        w.add_tensor(p + "ffn_gate_inp.weight", rand(a.experts, a.d).astype(np.float32))
        w.add_tensor(p + "ffn_gate_exps.weight", rand(a.experts, a.ff, a.d))
        w.add_tensor(p + "ffn_up_exps.weight", rand(a.experts, a.ff, a.d))
        w.add_tensor(p + "ffn_down_exps.weight", rand(a.experts, a.d, a.ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
