#!/usr/bin/env python3
"""Tests of the training tools: BPE trainer, tokenizer files, held-out scoring, balance loss;
for the Switch models: the text-to-text TSV format, the KJV task preparation (on a fake
`bible` program's text), the SentencePiece trainer, batching, and one tiny training run
whose checkpoint tools/convert.py converts and eval_switch.py evaluates.

Run: /usr/bin/python3 tools/train/test_train_tools.py   (a few seconds, one thread)
"""

import collections
import json
import math
import os
import stat
import subprocess
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
import t2t_tsv  # noqa: E402

try:
    import sentencepiece  # noqa: F401
    HAVE_SENTENCEPIECE = True
except ImportError:  # Debian's python3-sentencepiece (tools/install-deps.sh installs it)
    HAVE_SENTENCEPIECE = False
    print("SKIPPED: the SentencePiece tests need python3-sentencepiece")

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


class TsvTest(unittest.TestCase):
    def test_round_trip_and_refusals(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "a.tsv")
            rows = [("testament: And Jesus wept.", "new"), ("caf\u00e9 \u00fcber", "old")]
            self.assertEqual(t2t_tsv.write_rows(path, rows), 2)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), "testament: And Jesus wept.\tnew\ncaf\u00e9 \u00fcber\told\n".encode())
            self.assertEqual(t2t_tsv.read_rows(path), rows)
            for bad in (("a\tb", "x"), ("a\nb", "x"), ("a\rb", "x"), ("", "x"), ("a", "")):
                with self.assertRaises(t2t_tsv.TsvError):
                    t2t_tsv.write_rows(path, [bad])
            for text, why in ((b"a\tb\tc\n", "3 fields"), (b"a\tb", "newline"), (b"a\t\n", "empty"),
                              (b"a\tb\r\n", "carriage"), (b"\xff\tb\n", "UTF-8"), (b"", "no rows")):
                with open(path, "wb") as f:
                    f.write(text)
                with self.assertRaisesRegex(t2t_tsv.TsvError, why):
                    t2t_tsv.read_rows(path)


def fake_bible_verses():
    """66 books (the 40th named Mat, as the New Testament's first), 31,102 verses of made-up
    text of 3 to 62 words whose words name the book, three verses sharing one text."""
    import prepare_kjv
    names = ["Mat" if i == 39 else "B" + chr(97 + i // 26) + chr(97 + i % 26) for i in range(66)]
    per_book = [prepare_kjv.EXPECTED_VERSES // 66 + (1 if i < prepare_kjv.EXPECTED_VERSES % 66 else 0)
                for i in range(66)]
    verses = []
    for b, (name, n) in enumerate(zip(names, per_book)):
        for v in range(n):
            words = 3 + (v * 7 + b) % 60
            text = " ".join([f"w{b}x{v}"] + [f"k{b}" if i % 2 else f"t{v % 13}" for i in range(words - 1)]) + "."
            if (b, v) in ((0, 5), (10, 7), (50, 9)):
                text = "And it came to pass."
            verses.append((name, 1 + v // 40, 1 + v % 40, text))
    return verses


def write_fake_bible(folder):
    """An executable that prints fake_bible_verses() as `bible -f` does."""
    dump = os.path.join(folder, "dump.txt")
    with open(dump, "w") as f:
        for book, chapter, verse, text in fake_bible_verses():
            f.write(f"{book}{chapter}:{verse} {text}\n")
    prog = os.path.join(folder, "fake-bible")
    with open(prog, "w") as f:
        f.write(f"#!/bin/sh\n[ \"$1\" = -f ] || exit 3\ncat '{dump}'\n")
    os.chmod(prog, os.stat(prog).st_mode | stat.S_IXUSR)
    return prog


def run_tool(script, *args):
    result = subprocess.run([sys.executable, os.path.join(HERE, script), *args], capture_output=True, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    if result.returncode != 0:
        raise AssertionError(f"{script} {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


class PrepareGlueKjvTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.bible = write_fake_bible(cls.tmp.name)
        cls.out = os.path.join(cls.tmp.name, "data")
        cls.args = ["--bible", cls.bible, "--eval-rows", "200", "--samebook-train-rows", "3000",
                    "--newtestament-train-rows", "2000",
                    "--max-words-single", "40", "--max-words-pair", "20"]
        run_tool("prepare_glue_kjv.py", cls.out, *cls.args)
        import prepare_glue_kjv
        cls.book_of, cls.testament_of, cls.name_of, books = {}, {}, {}, []
        for book, _, _, text in fake_bible_verses():
            if not books or books[-1] != book:
                books.append(book)
            cls.book_of.setdefault(text, set()).add(book)
            cls.testament_of[text] = "new" if len(books) > 39 else "old"
            cls.name_of[text] = prepare_glue_kjv.BOOK_NAMES[len(books) - 1]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def rows(self, task, split):
        return t2t_tsv.read_rows(os.path.join(self.out, f"{task}.{split}.tsv"))

    def verses_of(self, task, split):
        """[(verses of the row, label)]: the verse texts a row is made of."""
        out = []
        for text, label in self.rows(task, split):
            if task in ("testament", "book"):
                self.assertTrue(text.startswith(task + ": "))
                out.append(([text[len(task) + 2:]], label))
            else:
                self.assertTrue(text.startswith(task + " sentence1: "))
                first, second = text[len(task) + len(" sentence1: "):].split(" sentence2: ")
                out.append(([first, second], label))
        return out

    def test_splits_share_no_verse_and_leave_out_repeated_text(self):
        seen = {}
        for task in ("testament", "newtestament", "samebook", "book"):
            for split in ("train", "eval"):
                for verses, _ in self.verses_of(task, split):
                    for v in verses:
                        self.assertNotEqual(v, "And it came to pass.")
                        self.assertEqual(seen.setdefault(v, split), split, f"{v!r} in both splits")
        with open(os.path.join(self.out, "verses.tsv")) as f:
            splits = collections.Counter(line.rstrip("\n").split("\t")[4] for line in f)
        self.assertEqual(splits["duplicate"], 3)
        self.assertEqual(sum(splits.values()), 31102)
        self.assertAlmostEqual(splits["eval"] / 31102, 0.1, delta=0.01)

    def test_labels_are_right_and_balanced(self):
        for split, n in (("train", None), ("eval", 200)):
            rows = self.verses_of("testament", split)
            for (v,), label in rows:
                self.assertEqual(label, self.testament_of[v])
                self.assertLessEqual(len(v.split()), 40)
            counts = collections.Counter(label for _, label in rows)
            self.assertEqual(counts["old"], counts["new"])
            if n:
                self.assertEqual(len(rows), n)
            rows = self.verses_of("samebook", split)
            for (a, b), label in rows:
                self.assertEqual(label, "yes" if self.book_of[a] == self.book_of[b] else "no")
                self.assertNotEqual(a, b)
                self.assertLessEqual(max(len(a.split()), len(b.split())), 20)
            self.assertEqual(len(rows), n or 3000)
            self.assertEqual(len({tuple(v) for v, _ in rows}), len(rows), "a pair appears twice")
            self.assertEqual(collections.Counter(label for _, label in rows), {"yes": len(rows) // 2,
                                                                               "no": len(rows) // 2})
            rows = self.verses_of("newtestament", split)
            for (a, b), label in rows:
                self.assertEqual({self.testament_of[a], self.testament_of[b]}, {"old", "new"})
                self.assertEqual(label, "first" if self.testament_of[a] == "new" else "second")
                self.assertLessEqual(max(len(a.split()), len(b.split())), 20)
            self.assertEqual(len(rows), n or 2000)
            self.assertEqual(len({tuple(v) for v, _ in rows}), len(rows), "a pair appears twice")
            self.assertEqual(collections.Counter(label for _, label in rows), {"first": len(rows) // 2,
                                                                               "second": len(rows) // 2})
            rows = self.verses_of("book", split)
            for (v,), label in rows:
                self.assertEqual(label, self.name_of[v])
                self.assertLessEqual(len(v.split()), 40)
            self.assertEqual(len({v for (v,), _ in rows}), len(rows))
            if n:
                self.assertEqual(len(rows), n)
        self.assertIn("Song of Solomon", {label for _, label in self.verses_of("book", "train")})
        with open(os.path.join(self.out, "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["tasks"]["samebook"]["eval"]["majority_baseline"], 0.5)
        # Every New Testament training verse is in testament.train.tsv.
        train_new = sum(1 for _, label in self.verses_of("testament", "train") if label == "new")
        with open(os.path.join(self.out, "verses.tsv")) as f:
            fields = [line.rstrip("\n").split("\t") for line in f]
        self.assertEqual(train_new, sum(1 for r in fields if r[2] == "new" and r[4] == "train" and int(r[3]) <= 40))

    def test_same_seed_same_files_and_bad_arguments(self):
        again = os.path.join(self.tmp.name, "again")
        run_tool("prepare_glue_kjv.py", again, *self.args)
        for name in ("testament.train.tsv", "testament.eval.tsv", "newtestament.train.tsv", "newtestament.eval.tsv",
                     "samebook.train.tsv", "samebook.eval.tsv", "book.train.tsv", "book.eval.tsv", "verses.tsv"):
            with open(os.path.join(self.out, name), "rb") as a, open(os.path.join(again, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)
        for bad, why in ((["--eval-rows", "7"], "even"), (["--eval-fraction", "1.5"], "eval-fraction"),
                         (["--samebook-train-rows", "200000000"], "samebook")):
            result = subprocess.run([sys.executable, os.path.join(HERE, "prepare_glue_kjv.py"), again,
                                     "--bible", self.bible, *bad], capture_output=True, text=True)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(why, result.stderr)


@unittest.skipUnless(HAVE_SENTENCEPIECE, "python3-sentencepiece is not installed")
class SwitchToolsTest(unittest.TestCase):
    """The tokenizer trainer, batching, and a tiny training run end to end."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = os.path.join(cls.tmp.name, "data")
        os.makedirs(cls.data)
        # Made-up words of one to three syllables: enough distinct text for 200 pieces.
        rng = __import__("random").Random(5)
        syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
        words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(400)]
        verses = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))).capitalize() + "."
                  for _ in range(321)]
        for task, labels in (("testament", ("old", "new")), ("samebook", ("yes", "no"))):
            for split, rows in (("train", verses[:240]), ("eval", verses[240:])):
                t2t_tsv.write_rows(os.path.join(cls.data, f"{task}.{split}.tsv"),
                                   [(f"{task}: {v}", labels[i % 2]) for i, v in enumerate(rows)])
        cls.rows = t2t_tsv.read_rows(os.path.join(cls.data, "testament.train.tsv"))
        cls.tok = os.path.join(cls.tmp.name, "tok")
        run_tool("train_spm.py", "--vocab-size", "200", "--out-dir", cls.tok,
                 os.path.join(cls.data, "testament.train.tsv"), os.path.join(cls.data, "samebook.train.tsv"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_tokenizer_has_t5_conventions_and_is_reproducible(self):
        import train_spm
        sp = train_spm.load(self.tok)
        self.assertEqual(sp.get_piece_size(), 200)
        self.assertEqual([sp.id_to_piece(i) for i in range(3)], ["<pad>", "</s>", "<unk>"])
        self.assertEqual(sp.bos_id(), -1)
        for label in ("old", "new", "yes", "no"):
            self.assertEqual(sp.decode(sp.encode(label)), label)
        text = self.rows[0][0]
        ids = train_spm.encode_t5(sp, text)
        self.assertEqual(ids[-1], 1)
        self.assertNotIn(2, ids)
        self.assertEqual(sp.decode(ids[:-1]), text)
        again = os.path.join(self.tmp.name, "tok-again")
        run_tool("train_spm.py", "--vocab-size", "200", "--out-dir", again,
                 os.path.join(self.data, "testament.train.tsv"), os.path.join(self.data, "samebook.train.tsv"))
        for name in ("spiece.model", "spiece.vocab"):
            with open(os.path.join(self.tok, name), "rb") as a, open(os.path.join(again, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), f"{name} differs between two runs")

    def test_batches_and_collate(self):
        import train_switch
        lengths = [(7 * i) % 23 + 1 for i in range(1000)]
        batches = train_switch.epoch_batches(1000, lengths, 16, seed=3, epoch=0)
        flat = [i for b in batches for i in b]
        self.assertEqual(len(flat), len(set(flat)))
        self.assertEqual(len(flat), 992)   # whole batches only
        self.assertEqual(batches, train_switch.epoch_batches(1000, lengths, 16, seed=3, epoch=0))
        self.assertNotEqual(batches, train_switch.epoch_batches(1000, lengths, 16, seed=3, epoch=1))
        spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
        self.assertLess(spread, 3)          # batches of similar lengths
        ids, mask, labels = train_switch.collate([("t", [5, 6, 1], [9, 1], 0), ("t", [7, 1], [8, 4, 1], 1)], 0)
        self.assertEqual(ids.tolist(), [[5, 6, 1], [7, 1, 0]])
        self.assertEqual(mask.tolist(), [[1, 1, 1], [1, 1, 0]])
        self.assertEqual(labels.tolist(), [[9, 1, -100], [8, 4, 1]])

    def test_tiny_training_converts_and_evaluates(self):
        out = os.path.join(self.tmp.name, "run")
        tiny = ["--d-model", "32", "--d-kv", "8", "--d-ff", "32", "--num-layers", "2", "--num-decoder-layers", "2",
                "--num-experts", "4", "--experts-embedding-dim", "8", "--process-dim", "8", "--hypernet-input", "8",
                "--hypernetwork-bottleneck", "8", "--layer-emb-dim", "4", "--adapter-dim", "4",
                "--steps", "6", "--batch-size", "8", "--warmup", "2", "--log-every", "3", "--eval-every", "3"]
        run_tool("train_switch.py", "--data-dir", self.data, "--tokenizer-dir", self.tok, "--out-dir", out,
                 "--tasks", "testament,samebook", *tiny)
        ckpt = os.path.join(out, "checkpoint")
        self.assertEqual(sorted(os.listdir(ckpt)), ["config.json", "pytorch_model.bin", "spiece.model"])
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["rows_seen"], 48)
        self.assertEqual(sorted(summary["eval_routing"]), ["decoder.1", "encoder.1"])
        hmoe = os.path.join(self.tmp.name, "tiny.hmoe")
        subprocess.run([sys.executable, os.path.join(HERE, "..", "convert.py"), ckpt, "-o", hmoe, "-q",
                        "--n-positions", "128"], check=True)
        sys.path.insert(0, os.path.join(HERE, ".."))
        from hmoe_ref.hmoe_file import read_hmoe
        f = read_hmoe(hmoe)
        self.assertTrue(any(name.startswith("dec.hyper") for name in f.tensors))
        preds = os.path.join(self.tmp.name, "preds")
        result = json.loads(run_tool("eval_switch.py", ckpt, "--data-dir", self.data, "--predictions-dir", preds,
                                     "--max-new-tokens", "3", "--tasks", "testament,samebook"))
        for task in ("testament", "samebook"):
            info = result["tasks"][task]
            self.assertEqual(info["rows"], 81)
            self.assertEqual(info["majority_baseline"], 41 / 81)
            right = 0
            with open(os.path.join(preds, f"{task}.eval.pred.tsv"), encoding="utf-8") as fh:
                for line in fh:
                    fields = line.rstrip("\n").split("\t")
                    self.assertEqual(len(fields), 6)
                    self.assertGreaterEqual(float(fields[5]), 0.0)
                    ids = [int(i) for i in fields[4].split(",")]
                    self.assertTrue(1 <= len(ids) <= 3)
                    self.assertEqual(fields[3], "1" if fields[2] == fields[1] else "0")
                    right += fields[3] == "1"
            self.assertAlmostEqual(info["accuracy"], right / 81)
        self.check_runtime_predictions(hmoe, preds, ("testament", "samebook"))

    def check_runtime_predictions(self, hmoe_file, preds, tasks):
        """`hmoe eval` (the C++ runtime, f32) gives the reference's prediction on every row."""
        binary = os.environ.get("HMOE_BIN")
        if not binary:
            return  # run outside ctest: the C++ side is not built here
        import compare_predictions
        for task in tasks:
            got = os.path.join(self.tmp.name, f"{task}.hmoe.pred.tsv")
            subprocess.run([binary, "eval", "-m", hmoe_file, "--data", os.path.join(self.data, f"{task}.eval.tsv"),
                            "--max-tokens", "3", "--predictions", got, "-o", "json"], check=True,
                           stdout=subprocess.DEVNULL)
            identical, differing = compare_predictions.compare(
                compare_predictions.read_rows(os.path.join(preds, f"{task}.eval.pred.tsv"), 6),
                compare_predictions.read_rows(got, 4))
            self.assertEqual(differing, [], f"{task}: rows where hmoe eval differs from the reference")
            self.assertEqual(identical, 81)


if __name__ == "__main__":
    torch.set_num_threads(1)
    unittest.main()
