#!/usr/bin/env python3
"""Train a small Switch Transformer HyperMoE (or, with --plain, the same recipe as plain
Switch) on text-to-text tasks, multi-task.

The model is tools/hmoe_ref's reference (switch_model.py), its loss the authors'
(switch_losses.py: teacher-forced cross-entropy on the target tokens + router z loss +
load-balancing loss), so the checkpoint has the authors' names and layout and
tools/convert.py converts it unchanged.

Data: the train TSVs of --tasks (prepare_glue_kjv.py), all rows of all tasks mixed
(examples-proportional mixing), encoded with the checkpoint's spiece.model, T5's way
(`</s>` after every input and target). Each epoch visits every row once in a seeded
random order; rows of similar input length are batched together (sorted within chunks
of 50 batches, the batches then shuffled) so padding stays small. Padding is masked
out of attention; it still runs through the blocks and counts toward expert capacity,
as in the authors' code, and expert_capacity (default n_positions) is set so that it
never binds on an input the model accepts.

Recipe: AdamW (0.9 / 0.999, weight decay on matrices), linear warmup then cosine decay,
gradient clipping, fixed seed. Data order and the initial weights of every tensor shared
by the two variants come from their own seeded generators, so HyperMoE and plain Switch
see the same batches from the same start: the comparison differs only in the HyperExpert.

Output directory:
  checkpoint/   config.json, pytorch_model.bin, spiece.model (the authors' layout)
  loss.csv      step, epoch, lr, loss, ce, z, balance, elapsed_s, rows_per_s, tokens_per_cpu_s
  eval.csv      step, task, loss, accuracy (teacher-forced: every target token the
                argmax, which is what greedy decoding then outputs)
  summary.json  arguments, config, parameter counts, budget, time, final numbers,
                how the sparse blocks route the eval inputs

One thread by default (--threads): the build machine is shared.
"""

import argparse
import csv
import json
import math
import os
import random
import shutil
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

from hmoe_ref.checkpoint import save_checkpoint  # noqa: E402
from hmoe_ref.switch_config import SwitchConfig  # noqa: E402
from hmoe_ref.switch_losses import IGNORE_INDEX, seq2seq_loss, shift_right  # noqa: E402
from hmoe_ref.switch_model import SwitchHyperMoE  # noqa: E402

import train_spm  # noqa: E402
from init_switch_weights import init_switch_training_weights  # noqa: E402
from t2t_tsv import read_rows  # noqa: E402
from train import lr_at, warn_if_reference_blas  # noqa: E402

SORT_CHUNK_BATCHES = 50


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="prepare_glue_kjv.py output (TASK.train.tsv, TASK.eval.tsv)")
    p.add_argument("--tokenizer-dir", required=True, help="train_spm.py output (spiece.model)")
    p.add_argument("--out-dir", required=True, help="where the checkpoint and logs go")
    p.add_argument("--tasks", default="testament,newtestament", help="comma-separated task names")
    p.add_argument("--plain", action="store_true",
                   help="plain Switch: use_hypernet = experts_embedding = false, same recipe")
    g = p.add_argument_group("model")
    g.add_argument("--d-model", type=int, default=128)
    g.add_argument("--d-kv", type=int, default=32)
    g.add_argument("--d-ff", type=int, default=512)
    g.add_argument("--num-heads", type=int, default=4)
    g.add_argument("--num-layers", type=int, default=4, help="encoder blocks")
    g.add_argument("--num-decoder-layers", type=int, default=2)
    g.add_argument("--sparse-step", type=int, default=2, help="block i is sparse iff i %% step == 1")
    g.add_argument("--num-experts", type=int, default=8)
    g.add_argument("--n-positions", type=int, default=128,
                   help="longest encoder input (with </s>) the model is trained for and promises")
    g.add_argument("--expert-capacity", type=int, default=0, help="0: n_positions (never binds)")
    g.add_argument("--experts-embedding-dim", type=int, default=64)
    g.add_argument("--process-dim", type=int, default=64)
    g.add_argument("--hypernet-input", type=int, default=64)
    g.add_argument("--hypernetwork-bottleneck", type=int, default=64)
    g.add_argument("--layer-emb-dim", type=int, default=10)
    g.add_argument("--adapter-dim", type=int, default=32)
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=int, default=4000)
    g.add_argument("--batch-size", type=int, default=32, help="rows per step")
    g.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    g.add_argument("--min-lr", type=float, default=1e-4, help="learning rate at the end of the cosine")
    g.add_argument("--warmup", type=int, default=200, help="linear warmup steps")
    g.add_argument("--weight-decay", type=float, default=0.1, help="on matrices only (the authors' 0.1)")
    g.add_argument("--grad-clip", type=float, default=1.0)
    g.add_argument("--z-coef", type=float, default=1e-3, help="router z loss weight (the authors' 0.001)")
    g.add_argument("--aux-coef", type=float, default=1e-2,
                   help="load-balancing loss weight (the Switch paper's 0.01)")
    g.add_argument("--seed", type=int, default=1234)
    g = p.add_argument_group("run")
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--log-every", type=int, default=20)
    g.add_argument("--eval-every", type=int, default=500)
    g.add_argument("--save-every", type=int, default=500, help="also overwrite the checkpoint this often")
    return p.parse_args(argv)


def make_config(args, vocab_size):
    hyper = not args.plain
    return SwitchConfig(
        vocab_size=vocab_size, d_model=args.d_model, d_kv=args.d_kv, d_ff=args.d_ff,
        num_layers=args.num_layers, num_decoder_layers=args.num_decoder_layers, num_heads=args.num_heads,
        num_experts=args.num_experts, expert_capacity=args.expert_capacity or args.n_positions,
        encoder_sparse_step=args.sparse_step, decoder_sparse_step=args.sparse_step,
        relative_attention_num_buckets=32, relative_attention_max_distance=128,
        layer_norm_epsilon=1e-6, tie_word_embeddings=True,
        decoder_start_token_id=train_spm.PAD_ID, pad_token_id=train_spm.PAD_ID, eos_token_id=train_spm.EOS_ID,
        use_hypernet=hyper, experts_embedding=hyper,
        experts_embedding_dim=args.experts_embedding_dim if hyper else 0,
        process_dim=args.process_dim if hyper else 0, hypernet_input=args.hypernet_input if hyper else 0,
        hypernetwork_bottleneck=args.hypernetwork_bottleneck if hyper else 0,
        layer_emb_dim=args.layer_emb_dim if hyper else 0, adapter_dim=args.adapter_dim if hyper else 0).validate()


def make_optimizer(model, args):
    """AdamW; weight decay on matrices (incl. the embedding), none on norms and biases."""
    decay, no_decay = [], []
    for p in model.parameters():  # the shared embedding and its aliases appear once
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.999))


def count_parameters(model):
    """Unique parameters; and the part inference reads (no adapter_*_manual)."""
    total = unused = 0
    for name, p in model.named_parameters():
        total += p.numel()
        if ".adapter_layer." in name:
            unused += p.numel()
    return {"total": total, "inference": total - unused}


def encode_tasks(sp, data_dir, tasks, split, n_positions):
    """[(task, input ids, target ids, row index)] of every task's split, in file order.
    An input longer than n_positions tokens is refused with its file and row."""
    out = []
    for task in tasks:
        path = os.path.join(data_dir, f"{task}.{split}.tsv")
        for i, (text, target) in enumerate(read_rows(path)):
            ids = train_spm.encode_t5(sp, text)
            if len(ids) > n_positions:
                sys.exit(f"error: {path} row {i + 1}: {len(ids)} tokens with </s>, more than "
                         f"n_positions = {n_positions}")
            out.append((task, ids, train_spm.encode_t5(sp, target), i))
    return out


def collate(examples, pad_id):
    """-> input_ids [B, S] padded, attention_mask [B, S], labels [B, T] padded with -100."""
    S = max(len(e[1]) for e in examples)
    T = max(len(e[2]) for e in examples)
    ids = torch.full((len(examples), S), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), S), dtype=torch.long)
    labels = torch.full((len(examples), T), IGNORE_INDEX, dtype=torch.long)
    for r, (_, x, y, _) in enumerate(examples):
        ids[r, :len(x)] = torch.tensor(x)
        mask[r, :len(x)] = 1
        labels[r, :len(y)] = torch.tensor(y)
    return ids, mask, labels


def epoch_batches(n_rows, lengths, batch_size, seed, epoch):
    """One epoch's batches of row indices: a seeded permutation, cut into chunks of
    SORT_CHUNK_BATCHES batches, each chunk sorted by input length and cut into batches,
    the batches shuffled. A last partial batch is dropped."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(n_rows))
    rng.shuffle(order)
    chunk = batch_size * SORT_CHUNK_BATCHES
    batches = []
    for start in range(0, n_rows - batch_size + 1, chunk):
        part = sorted(order[start:start + chunk], key=lambda i: lengths[i])
        batches += [part[i:i + batch_size] for i in range(0, len(part) - batch_size + 1, batch_size)]
    rng.shuffle(batches)
    return batches


@torch.no_grad()
def evaluate_teacher_forced(model, examples, batch_size=64, expert_counts=None):
    """{task: (mean cross-entropy per target token, accuracy)}; a row is right when every
    target token (eos included) is the argmax given the right prefix, i.e. when greedy
    decoding outputs exactly the target. expert_counts: {block: [N counts]} of the routing
    of the eval inputs' tokens (padding excluded), filled when given."""
    was_training = model.training
    model.eval()
    cfg = model.config
    stats = {}
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][1]))
    for start in range(0, len(order), batch_size):
        batch = [examples[i] for i in order[start:start + batch_size]]
        ids, mask, labels = collate(batch, cfg.pad_token_id)
        logits = model(ids, shift_right(labels, cfg.decoder_start_token_id, cfg.pad_token_id), mask)
        valid = labels != IGNORE_INDEX
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels.clamp(min=0), reduction="none")
        right = ((logits.argmax(-1) == labels) | ~valid).all(dim=1)
        for r, e in enumerate(batch):
            s = stats.setdefault(e[0], [0.0, 0, 0, 0])
            s[0] += float(nll[r][valid[r]].sum())
            s[1] += int(valid[r].sum())
            s[2] += int(right[r])
            s[3] += 1
        if expert_counts is not None:
            for name, mlp in model.sparse_mlps().items():
                real = mask if name.startswith("encoder") else valid
                counts = torch.bincount(mlp.last_routed_expert[real.bool()], minlength=cfg.num_experts)
                acc = expert_counts.setdefault(name, [0] * cfg.num_experts)
                for j in range(cfg.num_experts):
                    acc[j] += int(counts[j])
    model.train(was_training)
    return {task: (s[0] / s[1], s[2] / s[3]) for task, s in stats.items()}


def write_checkpoint(model, tokenizer_dir, path):
    tmp = path + ".tmp"
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    save_checkpoint(model, tmp)
    shutil.copyfile(os.path.join(tokenizer_dir, "spiece.model"), os.path.join(tmp, "spiece.model"))
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.replace(tmp, path)  # never leave a half-written checkpoint under the final name


def main(argv=None):
    args = parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    torch.set_num_threads(args.threads)
    warn_if_reference_blas()
    os.makedirs(args.out_dir, exist_ok=True)

    sp = train_spm.load(args.tokenizer_dir)
    train_rows = encode_tasks(sp, args.data_dir, tasks, "train", args.n_positions)
    eval_rows = encode_tasks(sp, args.data_dir, tasks, "eval", args.n_positions)
    lengths = [len(e[1]) for e in train_rows]

    cfg = make_config(args, sp.get_piece_size())
    model = SwitchHyperMoE(cfg, per_pattern=True)  # same numbers, each HyperExpert generated once per call
    init_switch_training_weights(model, args.seed)
    optimizer = make_optimizer(model, args)
    params = count_parameters(model)
    print(f"{'plain Switch' if args.plain else 'Switch HyperMoE'}: d={cfg.d_model} blocks={cfg.num_layers}+"
          f"{cfg.num_decoder_layers} heads={cfg.num_heads} N={cfg.num_experts} V={cfg.vocab_size}; "
          f"{params['total']:,} parameters ({params['inference']:,} used at inference); "
          f"{len(train_rows):,} train rows ({sum(lengths):,} input tokens), {len(eval_rows):,} eval rows; "
          f"{args.steps} steps x {args.batch_size} rows", flush=True)

    loss_log = open(os.path.join(args.out_dir, "loss.csv"), "w", newline="")
    eval_log = open(os.path.join(args.out_dir, "eval.csv"), "w", newline="")
    loss_csv, eval_csv = csv.writer(loss_log), csv.writer(eval_log)
    loss_csv.writerow(["step", "epoch", "lr", "loss", "ce", "z", "balance", "elapsed_s", "rows_per_s",
                       "tokens_per_cpu_s"])
    eval_csv.writerow(["step", "task", "loss", "accuracy"])

    def evaluate(step, expert_counts=None):
        result = evaluate_teacher_forced(model, eval_rows, expert_counts=expert_counts)
        for task, (loss, acc) in result.items():
            eval_csv.writerow([step, task, f"{loss:.5f}", f"{acc:.4f}"])
        eval_log.flush()
        print(f"step {step:5d}  eval " + "  ".join(f"{t} loss {l:.4f} acc {a:.3f}" for t, (l, a) in result.items()),
              flush=True)
        return result

    ckpt_dir = os.path.join(args.out_dir, "checkpoint")
    start = time.time()
    train_time = train_cpu = 0.0  # seconds in training steps (no eval, no saving)
    tokens_seen = rows_seen = 0
    window = [0.0, 0.0, 0.0, 0.0, 0]
    epoch, batches = 0, []
    model.train()
    for step in range(args.steps):
        if not batches:
            batches = epoch_batches(len(train_rows), lengths, args.batch_size, args.seed, epoch)
            epoch += 1
        t0, c0 = time.time(), time.process_time()
        batch = [train_rows[i] for i in batches.pop()]
        ids, mask, labels = collate(batch, cfg.pad_token_id)
        lr = lr_at(step, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss, ce, z, balance = seq2seq_loss(model, ids, mask, labels, args.z_coef, args.aux_coef)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        train_time += time.time() - t0
        train_cpu += time.process_time() - c0
        tokens_seen += int(ids.numel())
        rows_seen += len(batch)
        for i, v in enumerate((loss, ce, z, balance)):
            window[i] += float(v)
        window[4] += 1
        done = step + 1
        if done % args.log_every == 0 or done == args.steps:
            n = window[4]
            frac_epoch = (epoch - 1) + 1 - len(batches) / max(1, len(train_rows) // args.batch_size)
            loss_csv.writerow([done, f"{frac_epoch:.3f}", f"{lr:.6g}"] + [f"{window[i] / n:.5f}" for i in range(4)] +
                              [f"{time.time() - start:.1f}", f"{rows_seen / train_time:.1f}",
                               f"{tokens_seen / train_cpu:.0f}"])
            loss_log.flush()
            print(f"step {done:5d}  epoch {frac_epoch:.2f}  loss {window[0] / n:.4f}  ce {window[1] / n:.4f}  "
                  f"z {window[2] / n:.3f}  balance {window[3] / n:.3f}  lr {lr:.2e}  "
                  f"{rows_seen / train_time:.1f} rows/s ({tokens_seen / train_cpu:.0f} tokens per CPU s)  "
                  f"{time.time() - start:.0f} s", flush=True)
            last_train = {"loss": window[0] / n, "ce": window[1] / n, "z": window[2] / n, "balance": window[3] / n}
            window = [0.0, 0.0, 0.0, 0.0, 0]
        if done % args.eval_every == 0 and done != args.steps:
            evaluate(done)
        if done % args.save_every == 0 and done != args.steps:
            write_checkpoint(model, args.tokenizer_dir, ckpt_dir)

    expert_counts = {}
    final = evaluate(args.steps, expert_counts)
    write_checkpoint(model, args.tokenizer_dir, ckpt_dir)
    summary = {
        "variant": "plain" if args.plain else "hypermoe",
        "args": vars(args), "config": cfg.to_dict(), "parameters": params,
        "train_rows": len(train_rows), "train_input_tokens": sum(lengths), "eval_rows": len(eval_rows),
        "rows_seen": rows_seen, "epochs": rows_seen / len(train_rows),
        "padded_input_tokens_seen": tokens_seen,
        "train_seconds": round(train_time, 1), "train_cpu_seconds": round(train_cpu, 1),
        "wall_seconds": round(time.time() - start, 1),
        "final_train": {k: round(v, 5) for k, v in last_train.items()},
        "final_eval_teacher_forced": {t: {"loss": round(l, 5), "accuracy": a} for t, (l, a) in final.items()},
        "eval_routing": {name: [round(c / sum(counts), 4) for c in counts] for name, counts in expert_counts.items()},
        "torch": torch.__version__, "threads": args.threads,
    }
    with open(os.path.join(args.out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    loss_log.close()
    eval_log.close()
    print(json.dumps({k: summary[k] for k in ("variant", "parameters", "rows_seen", "epochs", "train_seconds",
                                              "wall_seconds", "final_eval_teacher_forced")}))


if __name__ == "__main__":
    main()
