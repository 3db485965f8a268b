#!/usr/bin/env python3
"""Train a small GPT-2 HyperMoE (or, with --no-hypernet, the same recipe as plain MoE).

The model is tools/hmoe_ref's reference model, so the checkpoint has exactly the
authors' names and layout (formats/TENSORS.md) and tools/convert.py converts it.

Recipe: random windows of --seq-len + 1 tokens from the training stream (books joined
by <|endoftext|>), next-token cross-entropy plus the authors' MoE load-balancing loss,
AdamW, linear warmup then cosine decay, gradient clipping, fixed seed. Data order and
the initial weights of every tensor shared by the two variants come from their own
seeded generators, so HyperMoE and plain MoE see the same batches from the same start:
the comparison differs only in the HyperExpert.

Output directory:
  checkpoint/        config.json, pytorch_model.bin, vocab.json, merges.txt
  loss.csv           step, tokens, lr, loss, aux_loss, elapsed_s, tokens_per_s
  eval.csv           step, eval_loss, eval_ppl (held-out book, every --eval-every steps)
  summary.json       arguments, parameter counts, throughput, final numbers

One thread by default (--threads): the build machine is shared.
"""

import argparse
import csv
import json
import math
import os
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import hmoe_ref.model  # noqa: E402
from hmoe_ref.config import HyperMoEConfig  # noqa: E402
from hmoe_ref.model import GPT2HyperMoE  # noqa: E402

from bpe import Tokenizer  # noqa: E402
from eval_ppl import held_out_nll  # noqa: E402
from init_weights import init_training_weights  # noqa: E402
from moe_balance import BalanceLoss  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="prepare_kjv.py output (train.txt, eval.txt)")
    p.add_argument("--tokenizer-dir", required=True, help="train_bpe.py output (vocab.json, merges.txt)")
    p.add_argument("--out-dir", required=True, help="where the checkpoint and logs go")
    p.add_argument("--no-hypernet", action="store_true",
                   help="plain MoE: experts_embedding = use_hypernet = false, same recipe")
    g = p.add_argument_group("model")
    g.add_argument("--n-embd", type=int, default=128)
    g.add_argument("--n-layer", type=int, default=3)
    g.add_argument("--n-head", type=int, default=4)
    g.add_argument("--n-positions", type=int, default=128)
    g.add_argument("--n-experts", type=int, default=8)
    g.add_argument("--k", type=int, default=2)
    g.add_argument("--experts-embedding-dim", type=int, default=64)
    g.add_argument("--process-dim", type=int, default=64)
    g.add_argument("--hypernet-input", type=int, default=64)
    g.add_argument("--hypernetwork-bottleneck", type=int, default=64)
    g.add_argument("--layer-emb-dim", type=int, default=10)
    g.add_argument("--adapter-dim", type=int, default=32)
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=int, default=1500)
    g.add_argument("--batch-size", type=int, default=8)
    g.add_argument("--seq-len", type=int, default=128, help="tokens per window (<= n_positions)")
    g.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    g.add_argument("--min-lr", type=float, default=2e-4, help="learning rate at the end of the cosine")
    g.add_argument("--warmup", type=int, default=100, help="linear warmup steps")
    g.add_argument("--weight-decay", type=float, default=0.1, help="on matrices only")
    g.add_argument("--grad-clip", type=float, default=1.0)
    g.add_argument("--aux-coef", type=float, default=1e-2,
                   help="weight of the load-balancing loss (the authors' loss_coef)")
    g.add_argument("--seed", type=int, default=1234)
    g = p.add_argument_group("run")
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--log-every", type=int, default=10)
    g.add_argument("--eval-every", type=int, default=250)
    g.add_argument("--save-every", type=int, default=250, help="also overwrite the checkpoint this often")
    return p.parse_args()


def use_fused_gelu():
    """The reference spells gelu_new out (pow, tanh, mul: several passes and saved
    tensors); torch's fused tanh-approximation GELU is the same function (max
    difference 2.4e-7 in fp32) and trains about a third faster on one thread."""
    hmoe_ref.model.gelu_new = lambda x: torch.nn.functional.gelu(x, approximate="tanh")


def warn_if_reference_blas():
    """Debian's python3-torch calls whatever libblas.so.3 the alternatives system
    names, by default the netlib reference BLAS: about 10x slower matrix products."""
    torch.ones(2, 2) @ torch.ones(2, 2)  # make sure the BLAS library is loaded
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "libblas" in line or "openblas" in line}
    except OSError:
        return
    if libs and not any("openblas" in lib or "blis" in lib for lib in libs):
        print(f"warning: torch uses the reference BLAS ({', '.join(sorted(libs))}); for a ~10x "
              "faster run: apt-get install libopenblas0-serial and set "
              "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-serial", file=sys.stderr)


def make_config(args, vocab_size):
    hyper = not args.no_hypernet
    return HyperMoEConfig(
        vocab_size=vocab_size, n_positions=args.n_positions, n_embd=args.n_embd,
        n_layer=args.n_layer, n_head=args.n_head, n_experts=args.n_experts, k=args.k,
        experts_embedding=hyper, use_hypernet=hyper,
        experts_embedding_dim=args.experts_embedding_dim, process_dim=args.process_dim,
        hypernet_input=args.hypernet_input, hypernetwork_bottleneck=args.hypernetwork_bottleneck,
        layer_emb_dim=args.layer_emb_dim, adapter_dim=args.adapter_dim).validate()


def lr_at(step, args):
    """Linear warmup to --lr, then cosine down to --min-lr at the last step."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(model, args):
    """AdamW; weight decay on matrices (incl. embeddings), none on biases and norms."""
    decay, no_decay = [], []
    for p in model.parameters():  # the tied wte / lm_head appears once
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": args.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8)


def count_parameters(model):
    """Unique parameters; and the part inference reads (no w_noise, no manual adapter)."""
    total, unused = 0, 0
    for name, p in model.named_parameters():
        total += p.numel()
        if ".w_noise" in name or ".adapter_layer." in name:
            unused += p.numel()
    return {"total": total, "inference": total - unused}


def save_checkpoint(model, cfg, tokenizer_dir, path):
    tmp = path + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    cfg.save(os.path.join(tmp, "config.json"))
    torch.save(model.state_dict(), os.path.join(tmp, "pytorch_model.bin"))
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(tmp, name))
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.replace(tmp, path)  # never leave a half-written checkpoint under the final name


def main():
    args = parse_args()
    if args.seq_len > args.n_positions:
        sys.exit(f"error: --seq-len {args.seq_len} exceeds --n-positions {args.n_positions}")
    torch.set_num_threads(args.threads)
    use_fused_gelu()
    warn_if_reference_blas()
    os.makedirs(args.out_dir, exist_ok=True)

    tokenizer = Tokenizer(os.path.join(args.tokenizer_dir, "vocab.json"),
                          os.path.join(args.tokenizer_dir, "merges.txt"))
    with open(os.path.join(args.data_dir, "train.txt"), encoding="utf-8") as f:
        train_ids = torch.tensor(tokenizer.encode(f.read()), dtype=torch.long)
    with open(os.path.join(args.data_dir, "eval.txt"), encoding="utf-8") as f:
        eval_ids = tokenizer.encode(f.read())

    cfg = make_config(args, len(tokenizer))
    model = GPT2HyperMoE(cfg, per_pattern=True)  # same numbers, hypernetwork once per pattern
    init_training_weights(model, args.seed)
    balance = BalanceLoss(model)
    optimizer = make_optimizer(model, args)
    params = count_parameters(model)
    tokens_per_step = args.batch_size * args.seq_len
    print(f"{'plain MoE' if args.no_hypernet else 'HyperMoE'}: d={cfg.n_embd} L={cfg.n_layer} "
          f"heads={cfg.n_head} N={cfg.n_experts} k={cfg.k} V={cfg.vocab_size}; "
          f"{params['total']:,} parameters ({params['inference']:,} used at inference); "
          f"{len(train_ids):,} train tokens, {len(eval_ids):,} eval tokens; "
          f"{args.steps} steps x {tokens_per_step} tokens", flush=True)

    data_gen = torch.Generator().manual_seed(args.seed)
    n_windows = len(train_ids) - args.seq_len - 1
    offsets = torch.arange(args.seq_len + 1)
    ckpt_dir = os.path.join(args.out_dir, "checkpoint")
    loss_log = open(os.path.join(args.out_dir, "loss.csv"), "w", newline="")
    eval_log = open(os.path.join(args.out_dir, "eval.csv"), "w", newline="")
    loss_csv, eval_csv = csv.writer(loss_log), csv.writer(eval_log)
    loss_csv.writerow(["step", "tokens", "lr", "loss", "aux_loss", "elapsed_s", "tokens_per_s",
                       "tokens_per_cpu_s"])
    eval_csv.writerow(["step", "eval_loss", "eval_ppl"])

    def evaluate(step):
        model.eval()
        nll, n = held_out_nll(model, eval_ids, tokenizer.eot_id, stride=cfg.n_positions // 2)
        model.train()
        eval_csv.writerow([step, f"{nll / n:.5f}", f"{math.exp(nll / n):.3f}"])
        eval_log.flush()
        print(f"step {step:5d}  held-out loss {nll / n:.4f}  ppl {math.exp(nll / n):.2f}", flush=True)
        return nll / n

    start = time.time()
    train_time, train_cpu = 0.0, 0.0  # wall and CPU seconds in training steps (no eval, no saving)
    window_loss, window_aux, window_n = 0.0, 0.0, 0
    model.train()
    for step in range(args.steps):
        t0, c0 = time.time(), time.process_time()
        starts = torch.randint(0, n_windows, (args.batch_size,), generator=data_gen)
        batch = train_ids[starts[:, None] + offsets]
        lr = lr_at(step, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        logits, _ = model(batch[:, :-1])
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        aux = balance.take()
        optimizer.zero_grad(set_to_none=True)
        (loss + args.aux_coef * aux).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        train_time += time.time() - t0
        train_cpu += time.process_time() - c0
        window_loss += loss.item()
        window_aux += aux.item()
        window_n += 1
        done = step + 1
        if done % args.log_every == 0 or done == args.steps:
            loss_csv.writerow([done, done * tokens_per_step, f"{lr:.6g}", f"{window_loss / window_n:.5f}",
                               f"{window_aux / window_n:.5f}", f"{time.time() - start:.1f}",
                               f"{done * tokens_per_step / train_time:.0f}",
                               f"{done * tokens_per_step / train_cpu:.0f}"])
            loss_log.flush()
            print(f"step {done:5d}  loss {window_loss / window_n:.4f}  aux {window_aux / window_n:.4f}  "
                  f"lr {lr:.2e}  {done * tokens_per_step / train_time:.0f} tok/s "
                  f"({done * tokens_per_step / train_cpu:.0f} per CPU s)  "
                  f"{time.time() - start:.0f} s", flush=True)
            last_train_loss = window_loss / window_n
            window_loss, window_aux, window_n = 0.0, 0.0, 0
        if done % args.eval_every == 0 and done != args.steps:
            evaluate(done)
        if done % args.save_every == 0 and done != args.steps:
            save_checkpoint(model, cfg, args.tokenizer_dir, ckpt_dir)

    final_eval = evaluate(args.steps)
    save_checkpoint(model, cfg, args.tokenizer_dir, ckpt_dir)
    summary = {
        "variant": "plain-moe" if args.no_hypernet else "hypermoe",
        "args": vars(args), "config": cfg.to_dict(), "parameters": params,
        "train_tokens_in_corpus": len(train_ids), "eval_tokens": len(eval_ids),
        "tokens_seen": args.steps * tokens_per_step,
        "epochs": args.steps * tokens_per_step / len(train_ids),
        "train_seconds": round(train_time, 1), "wall_seconds": round(time.time() - start, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "train_tokens_per_s": round(args.steps * tokens_per_step / train_time),
        "train_tokens_per_cpu_s": round(args.steps * tokens_per_step / train_cpu),
        "final_train_loss": round(last_train_loss, 4),
        "final_eval_loss": round(final_eval, 4), "final_eval_ppl": round(math.exp(final_eval), 3),
        "torch": torch.__version__, "threads": args.threads,
    }
    with open(os.path.join(args.out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    loss_log.close()
    eval_log.close()
    print(json.dumps({k: summary[k] for k in ("variant", "parameters", "tokens_seen", "train_tokens_per_s",
                                              "train_tokens_per_cpu_s", "final_train_loss", "final_eval_ppl",
                                              "wall_seconds")}))


if __name__ == "__main__":
    main()
