#!/usr/bin/python3
"""Self-checks of the Switch HyperMoE reference (tools/hmoe_ref/switch_model.py), no C++
involved: the decoder cache, the per-pattern HyperExpert and greedy generation agree
with recomputation; expert capacity binds exactly where the per-call cumsum says and
changes the results; a padded batch with its attention mask computes each row as alone;
the training losses (cross-entropy, router z and load-balancing) are the authors'
formulas; the relative-position buckets are T5's tables; the test
checkpoints are sensitive to the mistakes a runtime could make; a checkpoint round-trips
through save, load and convert.

    python_switch.py --work DIR
"""
import argparse
import os
import sys
from typing import List

import numpy as np
import torch
import torch.nn.functional as F

from ref_common import TestFailure, check, quiet_call

import convert
import make_checkpoint
from hmoe_ref import switch_losses as sl
from hmoe_ref import switch_model as sm
from hmoe_ref.checkpoint import load_switch_model, read_tensors
from hmoe_ref.config import ConfigError
from hmoe_ref.file_layout import F32
from hmoe_ref.hmoe_file import read_hmoe
from hmoe_ref.switch_config import SwitchConfig
from hmoe_ref.switch_init import hyper_effect, init_test_weights
from hmoe_ref.switch_model import SwitchHyperMoE, generate_greedy, relative_position_bucket
from hmoe_ref.switch_presets import SWITCH_PRESETS, SWITCH_TEST_PRESETS, switch_preset_config

# A runtime mistake must move the logits by far more than the comparison's 1e-4.
MUTATION_MIN_EFFECT = 1e-2
MIN_HYPER_EFFECT = 0.1


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def build(preset: str, seed: int = 7) -> SwitchHyperMoE:
    model = SwitchHyperMoE(switch_preset_config(preset)).eval()
    init_test_weights(model, seed)
    return model


def ids(n: int, vocab: int, seed: int, start=None) -> torch.Tensor:
    t = torch.randint(0, vocab, (1, n), generator=torch.Generator().manual_seed(seed))
    if start is not None:
        t[0, 0] = start
    return t


# --- T5's bucket tables ------------------------------------------------------------------

def _table(ranges, n):
    """ranges: [(first n, bucket)] in ascending n; the bucket of the last range start <= n."""
    return [b for first, b in ranges if first <= n][-1]


# 32 buckets, max distance 128. Bidirectional: 16 per direction, 8 exact, then log-spaced.
_BIDIRECTIONAL = [(n, n) for n in range(8)] + [(8, 8), (12, 9), (16, 10), (23, 11), (32, 12), (46, 13),
                                                (64, 14), (91, 15)]
# Causal: 32 buckets for keys at or before the query, 16 exact.
_CAUSAL = [(n, n) for n in range(16)] + [(16, 16), (19, 17), (21, 18), (24, 19), (27, 20), (31, 21), (35, 22),
                                         (40, 23), (46, 24), (52, 25), (59, 26), (67, 27), (77, 28), (87, 29),
                                         (99, 30), (113, 31)]


def check_buckets() -> None:
    n = torch.arange(0, 201)
    before = relative_position_bucket(-n, True, 32, 128).tolist()   # key n positions before the query
    after = relative_position_bucket(n, True, 32, 128).tolist()     # key n positions after it
    causal = relative_position_bucket(-n, False, 32, 128).tolist()
    future = relative_position_bucket(n, False, 32, 128).tolist()
    for k in range(201):
        want = _table(_BIDIRECTIONAL, k)
        check(before[k] == want, f"bidirectional bucket of key {k} before the query: {before[k]}, want {want}")
        want_after = want + 16 if k > 0 else 0
        check(after[k] == want_after, f"bidirectional bucket of key {k} after the query: {after[k]}, "
              f"want {want_after}")
        want = _table(_CAUSAL, k)
        check(causal[k] == want, f"causal bucket of key {k} before the query: {causal[k]}, want {want}")
        check(future[k] == 0, f"causal bucket of a future key ({k}): {future[k]}, want 0")
    # The model's bias is block 0's table gathered by these buckets, query row i at
    # position n_past + i.
    model = build("sw-tied")
    att = model.decoder.block[0].layer[0].SelfAttention
    bias = att.position_bias(n_past=150, T=2)[0]                  # [H, 2, 152]
    table = att.relative_attention_bias.weight
    check(torch.equal(bias[:, 1, 151 - 120], table[_table(_CAUSAL, 120)]), "decoder bias at distance 120")
    check(torch.equal(bias[:, 0, 150], table[0]) and bool(torch.isinf(bias[:, 0, 151]).all()),
          "decoder bias: distance 0 and the causal mask")
    enc = model.encoder.block[0].layer[0].SelfAttention
    ebias = enc.position_bias(0, 100)[0]
    etable = enc.relative_attention_bias.weight
    check(torch.equal(ebias[:, 10, 74], etable[_table(_BIDIRECTIONAL, 64) + 16]), "encoder bias, key 64 after")
    check(torch.equal(ebias[:, 74, 10], etable[_table(_BIDIRECTIONAL, 64)]), "encoder bias, key 64 before")
    print("relative position buckets: T5's tables for n = 0..200 (bidirectional both ways, causal, future keys)")


# --- capacity ------------------------------------------------------------------------------

def brute_force_kept(expert: torch.Tensor, capacity: int) -> List[bool]:
    """Token t keeps its expert iff fewer than `capacity` earlier tokens of the call chose it."""
    seen, kept = {}, []
    for e in expert.tolist():
        seen[e] = seen.get(e, 0) + 1
        kept.append(seen[e] <= capacity)
    return kept


def check_capacity() -> None:
    model = build("sw-capacity")
    cfg = model.config
    C = cfg.expert_capacity
    enc, dec = ids(40, cfg.vocab_size, 1), ids(16, cfg.vocab_size, 2, cfg.decoder_start_token_id)
    captured = []
    hooks = [m.router.register_forward_hook(lambda mod, inp, out: captured.append(out))
             for m in model.sparse_mlps().values()]
    with torch.no_grad():
        logits = model(enc, dec)
    for h in hooks:
        h.remove()
    dropped = {name: m.last_dropped for name, m in model.sparse_mlps().items()}
    for expert, kept, _, _ in captured:
        check(kept[0].tolist() == brute_force_kept(expert[0], C), "capacity mask differs from a per-token count")
    check(all(v > 0 for v in dropped.values()), f"capacity {C} did not bind in every sparse block: {dropped}")
    # Capacity counts per call: one-token decoder steps never drop, and a 1-token encoder input neither.
    enc_out = model.encode(enc)
    past = None
    for t in range(dec.shape[1]):
        _, past = model.decode(dec[:, t:t + 1], enc_out, past)
        check(all(m.last_dropped == 0 for name, m in model.sparse_mlps().items() if name.startswith("decoder")),
              "a one-token decoder step dropped a token")
    model.encode(enc[:, :1])
    check(all(m.last_dropped == 0 for name, m in model.sparse_mlps().items() if name.startswith("encoder")),
          "a one-token encoder input dropped a token")
    # ... so that a cached decode differs from one teacher-forced call when capacity binds,
    stepped = torch.cat([model.decode(dec[:, :1], enc_out)[0]] + [
        model.decode(dec[:, t:t + 1], enc_out, model.decode(dec[:, :t], enc_out)[1])[0]
        for t in range(1, dec.shape[1])], dim=1)
    d_steps = rel(stepped, logits)
    check(d_steps > MUTATION_MIN_EFFECT, f"capacity: stepped decode equals the full call ({d_steps:.2e})")
    # and the results change with capacity lifted.
    for m in model.sparse_mlps().values():
        m.router.expert_capacity = 10**6
    d_lifted = rel(model(enc, dec), logits)
    check(d_lifted > MUTATION_MIN_EFFECT, f"capacity {C} does not change the logits ({d_lifted:.2e})")
    print(f"capacity {C}: binds in all {len(dropped)} sparse blocks of a 40 + 16 token call "
          f"(dropped {sorted(dropped.items())}) exactly as a per-token count says; never in one-token calls; "
          f"lifting it moves the logits by {d_lifted:.3f}, decoding step by step instead of one call by "
          f"{d_steps:.3f} (relative)")


# --- cache, per-pattern, greedy, plain vs hyper --------------------------------------------

def check_model_paths(preset: str) -> None:
    model = build(preset)
    cfg = model.config
    enc, dec = ids(23, cfg.vocab_size, 3), ids(12, cfg.vocab_size, 4, cfg.decoder_start_token_id)
    with torch.no_grad():
        batch2 = model(torch.cat([enc, enc.flip(1)]), torch.cat([dec, dec]))
        check(rel(batch2[:1], model(enc, dec)) < 1e-6, f"{preset}: a batch of two changes the first row")
        # Recomputing equals the cache only while capacity does not bind (check_capacity
        # covers binding): lift it for the rest.
        for m in model.sparse_mlps().values():
            m.router.expert_capacity = 10**6
        enc_out = model.encode(enc)
        full, _ = model.decode(dec, enc_out)
        a, past = model.decode(dec[:, :5], enc_out)
        b, past = model.decode(dec[:, 5:11], enc_out, past)
        c, _ = model.decode(dec[:, 11:], enc_out, past)
        check(rel(torch.cat([a, b, c], 1), full) < 1e-6, f"{preset}: decoder cache differs from one call")
        model.per_pattern = True
        check(rel(model(enc, dec), full) < 1e-6, f"{preset}: per-pattern HyperExpert differs from per-token")
        model.per_pattern = False
        double = build(preset).double()
        for m in double.sparse_mlps().values():
            m.router.expert_capacity = 10**6
        d64 = rel(double(enc, dec).float(), full)
        check(d64 < 1e-4, f"{preset}: fp32 and fp64 references differ by {d64:.2e}")
        for prompt in ([cfg.decoder_start_token_id], dec[0, :3].tolist()):
            greedy = generate_greedy(model, enc[0].tolist(), 10, decoder_prompt=prompt, stop_at_eos=False)
            seq = list(prompt)
            for _ in range(10):
                seq.append(int(model.decode(torch.tensor([seq]), enc_out)[0][0, -1].argmax()))
            check(seq[len(prompt):] == greedy, f"{preset}: greedy {greedy} != argmax of recomputed calls "
                  f"{seq[len(prompt):]}")
        # Generation stops at eos: make the third generated token the eos id.
        eos = model.config.eos_token_id
        free = generate_greedy(model, enc[0].tolist(), 10, stop_at_eos=False)
        model.config.eos_token_id = free[2]
        try:
            out = generate_greedy(model, enc[0].tolist(), 10)
        finally:
            model.config.eos_token_id = eos
        want = free[:free.index(free[2]) + 1]
        check(out == want, f"{preset}: generation with eos {free[2]} gave {out}, want {want}")
    if cfg.hyper:
        effect = hyper_effect(model, enc, dec)
        check(effect >= MIN_HYPER_EFFECT, f"{preset}: HyperExpert effect {effect:.3f} < {MIN_HYPER_EFFECT}")
        what = f"HyperExpert effect {effect:.3f}"
    else:
        check(not any(hasattr(m, "n_experts_embedding") for m in model.sparse_mlps().values()),
              f"{preset}: plain model has expert embeddings")
        what = "plain Switch"
    print(f"{preset}: cache, batching, per-pattern, fp64 ({d64:.1e}) and greedy agree with recomputation; "
          f"eos stops; {what}")


def check_plain_vs_hyper() -> None:
    """Same weights, HyperExpert on and off; and use_hypernet without experts_embedding is plain."""
    hyper = build("sw-tied")
    enc, dec = ids(9, 320, 5), ids(6, 320, 6, 0)
    with torch.no_grad():
        on = hyper(enc, dec)
        hyper.hyper_enabled = False
        off = hyper(enc, dec)
    d = rel(on, off)
    check(d > MIN_HYPER_EFFECT, f"HyperExpert on/off differ by only {d:.3f}")
    cfg = SwitchConfig.from_dict(dict(SWITCH_PRESETS["sw-tied"], experts_embedding=False, router_jitter_noise=0))
    gen_only = SwitchHyperMoE(cfg).eval()
    gen_only.load_state_dict({k: v for k, v in hyper.state_dict().items()
                              if "n_experts_embedding" not in k and "embedding_process" not in k})
    check(hasattr(gen_only.encoder, "param_gen") and not gen_only.config.hyper,
          "use_hypernet without experts_embedding must build the generator and run plain")
    with torch.no_grad():
        check(torch.equal(gen_only(enc, dec), off), "use_hypernet without experts_embedding is not plain Switch")
    print(f"plain vs hyper: the HyperExpert moves the logits by {d:.3f}; use_hypernet without "
          "experts_embedding computes exactly the plain model")


# --- padded batches and training losses ---------------------------------------------------

def check_padding() -> None:
    """Row 2 of a padded batch, with the mask, is the same row alone; without it, not."""
    model = build("sw-tied")
    V, pad = model.config.vocab_size, model.config.pad_token_id
    long, short = ids(11, V, 21)[0], ids(6, V, 22)[0]
    batch = torch.full((2, 11), pad, dtype=torch.long)
    batch[0], batch[1, :6] = long, short
    mask = (torch.arange(11)[None, :] < torch.tensor([[11], [6]])).long()
    dec = torch.cat([ids(4, V, 23, 0), ids(4, V, 24, 0)])
    with torch.no_grad():
        enc = model.encode(batch, mask)
        alone = model.encode(short[None])
        d_enc = rel(enc[1:, :6], alone)
        logits = model.decode(dec, enc, attention_mask=mask)[0]
        d_dec = rel(logits[1:], model(short[None], dec[1:]))
        d_first = rel(logits[:1], model(long[None], dec[:1]))
        d_nomask = rel(model(batch, dec)[1:], model(short[None], dec[1:]))
        greedy = generate_greedy(model, short.tolist(), 6, stop_at_eos=False)
        past, step_logits, seq = None, None, [0]
        for _ in range(6):
            step_logits, past = model.decode(torch.tensor([[seq[-1]], [seq[-1]]]), enc, past, attention_mask=mask)
            seq.append(int(step_logits[1, -1].argmax()))
    check(d_enc < 1e-6 and d_dec < 1e-6 and d_first < 1e-6,
          f"a padded row differs from the row alone (encoder {d_enc:.2e}, decoder {d_dec:.2e}, full row {d_first:.2e})")
    check(d_nomask > MUTATION_MIN_EFFECT, f"padding without a mask changes row 2 by only {d_nomask:.2e}")
    check(seq[1:] == greedy, f"cached decoding of a padded row {seq[1:]} != greedy alone {greedy}")
    for bad, why in ((mask[:, :5], "shape"), (mask * 2, "0 and 1"), (mask * 0, "at least one 1")):
        try:
            model.encode(batch, bad)
        except ValueError as e:
            check(why in str(e), f"mask refusal says '{e}', want '{why}'")
        else:
            raise TestFailure(f"a bad attention mask ({why}) was accepted")
    print(f"padding: with its mask a padded row equals the row alone (encoder {d_enc:.1e}, logits {d_dec:.1e}), "
          f"also through the decoder cache; without the mask it moves by {d_nomask:.3f}")


def brute_force_router_losses(records):
    """records: per stack, [(logits [B, T, N], routed expert [B, T]) per sparse block]."""
    z_total, bal_total = 0.0, 0.0
    for blocks in records:
        B, N = blocks[0][0].shape[0], blocks[0][0].shape[2]
        lse2, positions = 0.0, 0
        bal = 0.0
        for b in range(B):
            counts, probs, n = [0.0] * N, [0.0] * N, 0
            for logits, experts in blocks:
                for t in range(logits.shape[1]):
                    row = logits[b, t].double()
                    lse2 += float(torch.logsumexp(row, 0)) ** 2
                    positions += 1
                    p = torch.softmax(row, 0)
                    for j in range(N):
                        probs[j] += float(p[j])
                    counts[int(experts[b, t])] += 1
                    n += 1
            bal += sum(counts[j] / n * probs[j] / n for j in range(N))
        z_total += lse2 / positions
        bal_total += bal / (B * N) * N * N
    return z_total, bal_total


def check_losses() -> None:
    """router_losses against a per-token loop (capacity binding: dropped tokens count as
    expert 0), the balance loss's fixed points, the gradient path, and seq2seq_loss's
    teacher forcing and ignored positions."""
    model = build("sw-capacity").train()
    V = model.config.vocab_size
    enc, labels = ids(30, V, 31).repeat(2, 1), ids(9, V, 32).repeat(2, 1)
    enc[1] = enc[1].flip(0)
    labels[1, 6:] = sl.IGNORE_INDEX
    mask = torch.ones_like(enc)
    total, ce, z, bal = sl.seq2seq_loss(model, enc, mask, labels, z_coef=0.25, aux_coef=0.5)
    mlps = model.sparse_mlps()
    check(any(m.last_dropped > 0 for m in mlps.values()), "capacity did not bind in the loss test")
    dropped_seen = any(bool(((m.last_routed_expert == 0) & (m.last_router_logits.argmax(-1) != 0)).any())
                       for m in mlps.values())
    check(dropped_seen, "no dropped token read as expert 0")
    records = [[(m.last_router_logits.detach(), m.last_routed_expert) for n, m in mlps.items()
                if n.startswith(stack)] for stack in ("encoder.", "decoder.")]
    want_z, want_bal = brute_force_router_losses(records)
    check(abs(float(z) - want_z) < 1e-4 * want_z, f"z loss {float(z)} != per-token {want_z}")
    check(abs(float(bal) - want_bal) < 1e-5 * want_bal, f"balance loss {float(bal)} != per-token {want_bal}")
    # The balance loss's gradient reaches the routers (through the probabilities).
    model.zero_grad()
    bal.backward(retain_graph=True)
    grads = [m.router.classifier.weight.grad for m in mlps.values()]
    check(all(g is not None and float(g.abs().max()) > 0 for g in grads), "balance loss does not reach a router")
    # Teacher forcing: start token, then the labels shifted; ignored positions read as padding.
    dec_in = sl.shift_right(labels, 0, 0)
    check(dec_in[0, 0] == 0 and torch.equal(dec_in[0, 1:], labels[0, :-1]) and int(dec_in[1, 7]) == 0,
          f"shift_right gave {dec_in.tolist()}")
    with torch.no_grad():
        logits = model(enc, dec_in)
    logp = torch.log_softmax(logits.double(), -1)
    keep = [(b, t) for b in range(2) for t in range(9) if labels[b, t] != sl.IGNORE_INDEX]
    want_ce = -sum(float(logp[b, t, labels[b, t]]) for b, t in keep) / len(keep)
    check(abs(float(ce) - want_ce) < 1e-5, f"cross-entropy {float(ce)} != {want_ce}")
    check(abs(float(total) - (float(ce) + 0.25 * float(z) + 0.5 * float(bal))) < 1e-5, "total != weighted sum")
    # Fixed points: uniform probabilities with every expert used equally give 1, one expert N.
    N = 4
    uniform = torch.full((1, 8, N), 1.0 / N)
    check(abs(float(sl.load_balancing_loss(uniform, torch.arange(8)[None] % N)) - 1.0) < 1e-6, "balanced != 1")
    one = F.one_hot(torch.zeros(1, 8, dtype=torch.long), N).float()
    check(abs(float(sl.load_balancing_loss(one, torch.zeros(1, 8))) - N) < 1e-6, "collapsed != N")
    print(f"losses: z {float(z):.4f} and balance {float(bal):.4f} equal a per-token loop (capacity binding, "
          f"dropped tokens as expert 0); cross-entropy skips ignored positions; gradient reaches every router")


# --- mutations -------------------------------------------------------------------------------

def check_mutations() -> None:
    """The test checkpoints catch each plausible runtime mistake by a wide margin."""
    effects = {}
    cases = {}

    def sum_to_mean(orig):
        return lambda self, e: orig(self, e) / (self.n_experts - 1)

    def selected_embedding(orig):
        return lambda self, e: self.n_experts_embedding(e)

    def hyper_scaled_by_pmax(orig):
        def forward(self, x, param_gen, per_pattern=False, hyper_enabled=True):
            out = orig(self, x, param_gen, per_pattern, False)
            if not (self.hyper and hyper_enabled):
                return out
            expert, _, pmax, _ = self.router(x)
            B, T, d = x.shape
            a = self.hyper_expert_output(x.reshape(-1, d), expert.reshape(-1), param_gen, per_pattern)
            return out + pmax * a.view(B, T, d)
        return forward

    def gate_renormalised(orig):
        def forward(self, x):
            expert, kept, pmax, logits = orig(self, x)
            return expert, kept, torch.ones_like(pmax), logits
        return forward

    def dropped_zeroed(orig):
        def forward(self, x, param_gen, per_pattern=False, hyper_enabled=True):
            expert, kept, _, _ = self.router(x)
            out = orig(self, x, param_gen, per_pattern, hyper_enabled)
            return out - (~kept)[..., None] * self.router(x)[2] * x
        return forward

    def dropped_hyper_of_expert0(orig):
        def forward(self, x, param_gen, per_pattern=False, hyper_enabled=True):
            out = orig(self, x, param_gen, per_pattern, False)
            if not (self.hyper and hyper_enabled):
                return out
            expert, kept, _, _ = self.router(x)
            expert = torch.where(kept, expert, torch.zeros_like(expert))   # post-capacity argmax
            B, T, d = x.shape
            return out + self.hyper_expert_output(x.reshape(-1, d), expert.reshape(-1), param_gen,
                                                  per_pattern).view(B, T, d)
        return forward

    def scaled_attention(orig):
        return lambda self, x, k, v, bias: orig(self, x / self.d_kv ** 0.5, k, v, bias)

    def layer_index_global(orig):
        def adapters(self, q, layer, d, b):
            return orig(self, q, min(layer + 1, self.layer_embed.weight.shape[0] - 1), d, b)
        return adapters

    cases["mean instead of sum of unselected embeddings"] = ("sw-tied", sm.SparseMLP, "unselected_embedding_sum",
                                                              sum_to_mean)
    cases["selected instead of unselected embeddings"] = ("sw-tied", sm.SparseMLP, "unselected_embedding_sum",
                                                           selected_embedding)
    cases["HyperExpert scaled by pmax"] = ("sw-tied", sm.SparseMLP, "forward", hyper_scaled_by_pmax)
    cases["expert output not scaled by pmax"] = ("sw-tied", sm.Top1Router, "forward", gate_renormalised)
    cases["dropped tokens zeroed instead of passed through"] = ("sw-capacity", sm.SparseMLP, "forward",
                                                               dropped_zeroed)
    cases["HyperExpert of dropped tokens from the post-capacity argmax"] = (
        "sw-capacity", sm.SparseMLP, "forward", dropped_hyper_of_expert0)
    cases["attention scaled by 1/sqrt(d_kv)"] = ("sw-tied", sm.Attention, "forward", scaled_attention)
    cases["layer embedding of the next block"] = ("sw-tied", sm.ParameterGenerator, "adapters", layer_index_global)
    for name, (preset, cls, attr, make) in cases.items():
        model = build(preset, 1)
        cfg = model.config
        enc, dec = ids(40, cfg.vocab_size, 8), ids(16, cfg.vocab_size, 9, cfg.decoder_start_token_id)
        with torch.no_grad():
            ref = model(enc, dec)
        orig = getattr(cls, attr)
        setattr(cls, attr, make(orig))
        try:
            with torch.no_grad():
                effects[name] = (preset, rel(model(enc, dec), ref))
        finally:
            setattr(cls, attr, orig)
    # Stack-level mistakes: the decoder using the encoder's generator; one bias table per
    # block instead of block 0's shared one (blocks > 0 seeing no position bias).
    model = build("sw-untied", 1)
    enc, dec = ids(40, 320, 8), ids(16, 320, 9, 0)
    with torch.no_grad():
        ref = model(enc, dec)
        saved = model.decoder.param_gen
        le = model.encoder.param_gen.layer_embed.weight.shape[0]
        check(le != model.decoder.param_gen.layer_embed.weight.shape[0], "sw-untied stacks must differ in depth")
        model.decoder.param_gen = model.encoder.param_gen
        effects["decoder using the encoder's generator"] = ("sw-untied", rel(model(enc, dec), ref))
        model.decoder.param_gen = saved
    for name, (preset, e) in effects.items():
        print(f"{preset}: mistake '{name}' moves the logits by {e:.3f} (relative)")
        check(e > MUTATION_MIN_EFFECT, f"the test checkpoint would not catch '{name}' ({e:.2e})")


# --- config, checkpoint and conversion round trip ------------------------------------------

def check_config() -> None:
    good = dict(vocab_size=10, d_model=8, d_kv=4, d_ff=16, num_layers=2, num_heads=2, num_experts=4,
                router_jitter_noise=0.0)
    cfg = SwitchConfig.from_dict(good)
    check(cfg.tie_word_embeddings and cfg.num_decoder_layers == 2 and not cfg.hyper, "config defaults")
    check(cfg.encoder_sparse_step == 2 // 3 == 0 and cfg.sparse_blocks(False) == [],
          "default 3 sparse layers of 2 give step 0: no sparse block")
    # The step rule's oddities (computed when config.json carries no step).
    for n, n_sparse, blocks in ((12, 6, [1, 3, 5, 7, 9, 11]), (12, 12, []), (12, 0, [1]), (12, 4, [1, 4, 7, 10]),
                                (12, 5, [1, 3, 5, 7, 9, 11])):
        c = SwitchConfig.from_dict(dict(good, num_layers=n, num_sparse_encoder_layers=n_sparse))
        check(c.sparse_blocks(False) == blocks, f"{n} layers, {n_sparse} sparse: blocks {c.sparse_blocks(False)}")
    c = SwitchConfig.from_dict(dict(good, num_layers=12, num_sparse_encoder_layers=4, encoder_sparse_step=2))
    check(c.sparse_blocks(False) == [1, 3, 5, 7, 9, 11], "a saved step must win over num_sparse_encoder_layers")
    for bad, words in ((dict(num_heads=0), "num_heads"), (dict(expert_capacity=0), "expert_capacity"),
                       (dict(use_hypernet=True), "adapter_dim (needed with use_hypernet true)"),
                       (dict(use_hypernet=True, experts_embedding=True, **{k: 4 for k in (
                           "hypernet_input", "hypernetwork_bottleneck", "layer_emb_dim", "adapter_dim")}),
                        "experts_embedding_dim (needed with experts_embedding true)"), (dict(eos_token_id=10), "eos_token_id"),
                       (dict(relative_attention_max_distance=16), "relative_attention_max_distance"),
                       (dict(encoder_sparse_step=-1), "encoder_sparse_step")):
        try:
            SwitchConfig.from_dict(dict(good, **bad))
        except ConfigError as e:
            check(words in str(e), f"config error for {bad} does not mention '{words}': {e}")
        else:
            raise TestFailure(f"config {bad} was accepted")
    print("config: defaults, the sparse-step rule and its oddities, saved steps win, bad values named")


def check_roundtrip(work: str) -> None:
    """make_checkpoint -> .bin and .safetensors -> load_switch_model and convert.py."""
    for preset, st in (("sw-untied", False), ("sw-distinct", True)):
        ckpt = os.path.join(work, f"{preset}-rt")
        argv = ["--arch", "switch", "--preset", preset, "--seed", "3", "-o", ckpt] + (["--safetensors"] if st else [])
        rc, out, err = quiet_call(make_checkpoint.main, argv)
        check(rc == 0, f"make_checkpoint.py {' '.join(argv)} failed: {err}")
        check("HyperExpert effect" in out, f"make_checkpoint.py printed no effect: {out}")
        model = build(preset, 3)
        loaded = load_switch_model(ckpt)
        for k, v in model.state_dict().items():
            check(torch.equal(loaded.state_dict()[k], v), f"{preset}: tensor '{k}' changed in save/load")
        src = read_tensors(ckpt)
        if st:
            check("encoder.embed_tokens.weight" not in src and "lm_head.weight" not in src,
                  "safetensors kept an alias of shared.weight")
        else:
            check(np.array_equal(src["encoder.embed_tokens.weight"], src["shared.weight"]),
                  ".bin lacks the embed_tokens alias")
        path = os.path.join(work, f"{preset}.hmoe")
        rc, _, err = quiet_call(convert.main, [ckpt, "-o", path, "-q"])
        check(rc == 0, f"convert.py {preset}: {err}")
        f = read_hmoe(path)
        cfg = model.config
        check(f.arch == 1 and f.hparams["n_decoder_layer"] == cfg.num_decoder_layers and
              f.hparams["d_kv"] == cfg.d_kv and f.hparams["tie_word_embeddings"] == cfg.tie_word_embeddings and
              f.hparams["router_bias"] == cfg.router_bias and f.hparams["n_positions"] == 512,
              f"{preset}: hparams {f.hparams}")
        check(f.tokenizer is not None and f.tokenizer_kind == 0 and f.tokenizer.eos_id == 1 and
              f.tokenizer.pad_id == 0, f"{preset}: tokenizer table {f.tokenizer}")
        blk = f"decoder.block.1.layer."
        q, k, v = (src[f"{blk}0.SelfAttention.{n}.weight"] for n in "qkv")
        check(np.array_equal(f.array("dec.blk.1.attn.qkv.weight"), np.concatenate([q, k, v])), "qkv rows")
        check(np.array_equal(f.array("dec.blk.1.cross.kv.weight"),
                             np.concatenate([src[f"{blk}1.EncDecAttention.k.weight"],
                                             src[f"{blk}1.EncDecAttention.v.weight"]])), "cross kv rows")
        check(np.array_equal(f.array("dec.blk.1.moe.fc.weight")[2], src[f"{blk}2.mlp.experts.expert_2.wi.weight"]),
              "stacked experts")
        check(f.tensors["dec.rel_bias"].dtype == F32 and f.tensors["enc.hyper.layer_embd"].shape ==
              (cfg.num_layers, cfg.layer_emb_dim), "rel_bias / layer_embd")
        check(("lm_head" in f.tensors) != cfg.tie_word_embeddings, "lm_head present iff untied")
    print("checkpoints: .bin (with aliases) and .safetensors (without) load back exactly; convert.py writes "
          "a SWITCH_HYPERMOE file whose tensors are the checkpoint's, rows and experts in order")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(1)
    check_buckets()
    check_config()
    for preset in SWITCH_TEST_PRESETS:
        check_model_paths(preset)
    check_capacity()
    check_padding()
    check_losses()
    check_plain_vs_hyper()
    check_mutations()
    check_roundtrip(args.work)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
