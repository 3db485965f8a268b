#!/usr/bin/env python3
"""Tests of the training tools: BPE trainer, tokenizer files, held-out scoring, balance loss.

Run: /usr/bin/python3 tools/train/test_train_tools.py   (a few seconds, one thread)
"""

import collections
import json
import math
import os
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

import bpe  # noqa: E402
import train_bpe  # noqa: E402
from eval_ppl import held_out_nll  # noqa: E402
from moe_balance import BalanceLoss, cv_squared  # noqa: E402

CORPUS = ("In the beginning God created the heaven and the earth. And the earth was without "
          "form, and void; and darkness was upon the face of the deep. And God said, Let there "
          "be light: and there was light. 12:30 it's they've we'll\n") * 3 + "caf\u00e9 \u00fcber\n"


def naive_merges(word_counts, n):
    """Textbook BPE: recount every pair before each merge."""
    words = {w: list(w) for w in word_counts}
    merges = []
    for _ in range(n):
        counts = collections.Counter()
        for w, s in words.items():
            for p in zip(s, s[1:]):
                counts[p] += word_counts[w]
        if not counts:
            break
        best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        for w, s in words.items():
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            words[w] = out
    return merges


class BpeTrainerTest(unittest.TestCase):
    def test_incremental_counts_match_the_textbook_algorithm(self):
        counts = collections.Counter(bpe.pretokenize(CORPUS))
        vocab, merges = train_bpe.train(counts, 256 + 60 + 1, min_frequency=1)
        self.assertEqual(merges, naive_merges(counts, len(merges)))
        self.assertEqual(len(merges), 60)

    def test_vocab_layout_is_gpt2s(self):
        counts = collections.Counter(bpe.pretokenize(CORPUS))
        vocab, merges = train_bpe.train(counts, 300, min_frequency=2)
        self.assertEqual(vocab[:256], list(bpe.BYTE_TO_UNICODE.values()))
        self.assertEqual(vocab[0], "!")              # GPT-2's id 0
        self.assertEqual(vocab[188], "\u0100")       # byte 0 -> U+0100, GPT-2's id 188
        self.assertEqual(vocab[220], "\u0120")       # space -> 'Ġ', GPT-2's id 220
        self.assertEqual(vocab[-1], bpe.END_OF_TEXT)
        self.assertEqual(len(set(vocab)), len(vocab))

    def test_files_round_trip_text_and_special_token(self):
        counts = collections.Counter(bpe.pretokenize(CORPUS))
        vocab, merges = train_bpe.train(counts, 320, min_frequency=2)
        with tempfile.TemporaryDirectory() as tmp:
            v, m = os.path.join(tmp, "vocab.json"), os.path.join(tmp, "merges.txt")
            bpe.write_tokenizer(v, m, vocab, merges)
            with open(m, encoding="utf-8") as f:
                self.assertEqual(f.readline(), "#version: 0.2\n")
            with open(v, encoding="utf-8") as f:
                self.assertEqual(json.load(f)[bpe.END_OF_TEXT], len(vocab) - 1)
            tok = bpe.Tokenizer(v, m)
        text = "And God said<|endoftext|>caf\u00e9  \n\tnew words: zebra 42!"
        ids = tok.encode(text)
        self.assertEqual(tok.decode(ids), text)
        self.assertEqual(ids.count(tok.eot_id), 1)
        # A frequent word of the corpus is one token with its leading space.
        self.assertEqual(tok.encode(" the"), [tok.token_to_id["\u0120the"]])


class TinyLM(torch.nn.Module):
    """Stands in for the model in held_out_nll: logits depend on the whole prefix, so a
    window that drops context changes the numbers."""

    class Cfg:
        n_positions = 8

    def __init__(self):
        super().__init__()
        self.config = self.Cfg()
        self.emb = torch.nn.Embedding(11, 11)
        with torch.no_grad():
            self.emb.weight.copy_(torch.randn(11, 11, generator=torch.Generator().manual_seed(0)))

    def forward(self, ids):
        return self.emb(ids).cumsum(dim=1), None


class HeldOutNllTest(unittest.TestCase):
    def test_every_token_is_scored_once(self):
        model, ids = TinyLM(), [(3 * i) % 11 for i in range(29)]
        for stride in (1, 3, 4, 8):
            _, n = held_out_nll(model, ids, bos_id=10, stride=stride)
            self.assertEqual(n, len(ids), f"stride {stride}")

    def test_a_text_within_one_window_is_scored_directly(self):
        model, ids = TinyLM(), [1, 5, 2, 7, 3]
        seq = torch.tensor([[10] + ids])
        logp = torch.log_softmax(model(seq[:, :-1])[0][0].double(), dim=-1)
        want = -sum(float(logp[i, t]) for i, t in enumerate(ids))
        got, n = held_out_nll(model, ids, bos_id=10, stride=4)
        self.assertAlmostEqual(got, want, places=9)
        self.assertEqual(n, 5)

    def test_later_windows_keep_context_and_score_only_new_tokens(self):
        model, ids = TinyLM(), [1, 5, 2, 7, 3, 9, 4, 4, 0, 6, 8, 2]
        seq = torch.tensor([10] + ids)  # 13 positions, window 8, stride 4

        def nll(begin, targets):  # window seq[begin:begin+8] scores absolute targets
            logp = torch.log_softmax(model(seq[begin:begin + 8][None])[0][0].double(), dim=-1)
            return -sum(float(logp[t - 1 - begin, seq[t]]) for t in targets)

        want = nll(0, range(1, 9)) + nll(4, range(9, 13))
        got, n = held_out_nll(model, ids, bos_id=10, stride=4)
        self.assertAlmostEqual(got, want, places=9)
        self.assertEqual(n, 12)
        disjoint, _ = held_out_nll(model, ids, bos_id=10, stride=8)
        self.assertNotAlmostEqual(got, disjoint, places=3)

    def test_bad_stride_is_refused(self):
        with self.assertRaisesRegex(ValueError, "stride 9"):
            held_out_nll(TinyLM(), [1, 2], bos_id=10, stride=9)


class BalanceLossTest(unittest.TestCase):
    def test_cv_squared(self):
        self.assertEqual(float(cv_squared(torch.tensor([2.0, 2.0, 2.0]))), 0.0)
        # var (unbiased) of [0, 4] is 8, mean 2: cv^2 = 2
        self.assertAlmostEqual(float(cv_squared(torch.tensor([0.0, 4.0]))), 2.0, places=6)

    def test_records_training_passes_only(self):
        from hmoe_ref.config import HyperMoEConfig
        from hmoe_ref.model import GPT2HyperMoE
        cfg = HyperMoEConfig(vocab_size=32, n_positions=8, n_embd=16, n_layer=2, n_head=2,
                             n_experts=4, k=2, experts_embedding_dim=4, process_dim=4,
                             hypernet_input=4, hypernetwork_bottleneck=4, layer_emb_dim=2,
                             adapter_dim=2)
        torch.manual_seed(0)
        model = GPT2HyperMoE(cfg, per_pattern=True)
        for p in model.parameters():
            torch.nn.init.normal_(p, std=0.3)
        balance = BalanceLoss(model)
        ids = torch.randint(0, 32, (2, 8))
        model.train()
        model(ids)
        loss = balance.take()
        self.assertTrue(math.isfinite(float(loss)) and float(loss) > 0)
        self.assertTrue(loss.requires_grad)           # importance carries the gate's gradient
        self.assertEqual(float(balance.take()), 0.0)  # taken once
        model.eval()
        with torch.no_grad():
            model(ids)
        self.assertEqual(float(balance.take()), 0.0)


if __name__ == "__main__":
    torch.set_num_threads(1)
    unittest.main()
