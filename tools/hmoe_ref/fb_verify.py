"""A FlatBuffers verifier for the .hmoe header, in the spirit of the C++ Verifier.

Python's flatbuffers package has no verifier, and its accessors read wherever a
corrupt offset points (or raise struct errors deep inside). This walks every table,
vtable, string and vector of the schema reachable from the root and checks that each
lies inside the buffer, is aligned, and that required fields are present, so that
reading the header afterwards cannot go out of bounds.

The field lists mirror formats/hmoe.fbs, in declaration order (field i has vtable slot
i). Fields a newer schema appends are beyond these lists and are skipped, as an older
C++ reader skips them. check_fb_codegen.py checks the counts against the generated code.
"""
from __future__ import annotations

import struct
from typing import Dict, List, Tuple, Union

# A field type: ("scalar", size) | ("string",) | ("vector", elem_size) |
# ("strings",) | ("table", name) | ("tables", name)
FieldType = Tuple[Union[str, int], ...]

U8, BOOL, U32, I32, F32, U64, I64 = (("scalar", 1), ("scalar", 1), ("scalar", 4), ("scalar", 4),
                                     ("scalar", 4), ("scalar", 8), ("scalar", 8))

SCHEMA: Dict[str, List[Tuple[str, FieldType, bool]]] = {  # table -> [(field, type, required)]
    "Model": [("arch", U8, False), ("hparams", ("table", "HParams"), True),
              ("tokenizer", ("table", "Tokenizer"), False),
              ("metadata", ("tables", "KeyValue"), False), ("tensors", ("tables", "Tensor"), False),
              ("data_alignment", U32, False), ("hyper_baked", BOOL, False)],
    "HParams": [(n, t, False) for n, t in (
        ("vocab_size", U32), ("n_positions", U32), ("n_embd", U32), ("n_layer", U32),
        ("n_head", U32), ("layer_norm_epsilon", F32), ("n_experts", U32), ("top_k", U32),
        ("use_hypernet", BOOL), ("experts_embedding_dim", U32), ("process_dim", U32),
        ("hypernet_input", U32), ("hypernetwork_bottleneck", U32), ("layer_emb_dim", U32),
        ("adapter_dim", U32), ("d_kv", U32), ("d_ff", U32), ("n_decoder_layer", U32),
        ("encoder_sparse_step", U32), ("decoder_sparse_step", U32), ("expert_capacity", U32),
        ("router_bias", BOOL), ("relative_attention_num_buckets", U32),
        ("relative_attention_max_distance", U32), ("tie_word_embeddings", BOOL),
        ("decoder_start_token_id", I32))],
    "Tokenizer": [("kind", U8, False), ("vocab", ("strings",), False), ("merges", ("strings",), False),
                  ("eos_id", I32, False), ("bos_id", I32, False), ("sp_model", ("vector", 1), False),
                  ("pad_id", I32, False)],
    "KeyValue": [("key", ("string",), True), ("value", ("string",), False)],
    "Tensor": [("name", ("string",), True), ("dtype", U8, False), ("shape", ("vector", 8), False),
               ("offset", U64, False), ("size", U64, False)],
}

MAX_TABLES = 1_000_000  # as the C++ Verifier's default max_tables


class VerifyError(ValueError):
    pass


class _Verifier:
    def __init__(self, buf: bytes):
        self.buf = buf
        self.n = len(buf)
        self.tables = 0

    def _need(self, pos: int, size: int, align: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > self.n:
            raise VerifyError(f"{what} at byte {pos} (+{size}) lies outside the {self.n}-byte header")
        if align > 1 and pos % align:
            raise VerifyError(f"{what} at byte {pos} is not {align}-byte aligned")

    def _u32(self, pos: int, what: str) -> int:
        self._need(pos, 4, 4, what)
        return struct.unpack_from("<I", self.buf, pos)[0]

    def _deref(self, pos: int, what: str) -> int:
        off = self._u32(pos, what)
        if off == 0:
            raise VerifyError(f"{what} at byte {pos} is a null offset")
        return pos + off

    def string(self, pos: int, what: str) -> None:
        start = self._deref(pos, what)
        length = self._u32(start, what + " length")
        self._need(start + 4, length + 1, 1, what)
        if self.buf[start + 4 + length] != 0:
            raise VerifyError(f"{what} at byte {start} lacks its terminating zero")

    def vector(self, pos: int, elem: int, what: str) -> Tuple[int, int]:
        start = self._deref(pos, what)
        length = self._u32(start, what + " length")
        self._need(start + 4, length * elem, min(elem, 8), what)  # elements aligned to their size
        return start + 4, length

    def table(self, pos: int, name: str) -> None:
        self.tables += 1
        if self.tables > MAX_TABLES:
            raise VerifyError("too many tables")
        self._need(pos, 4, 4, f"table {name}")
        vt = pos - struct.unpack_from("<i", self.buf, pos)[0]
        self._need(vt, 4, 2, f"vtable of {name}")
        vsize, tsize = struct.unpack_from("<HH", self.buf, vt)
        if vsize < 4 or vsize % 2:
            raise VerifyError(f"vtable of {name} at byte {vt} has bad size {vsize}")
        self._need(vt, vsize, 2, f"vtable of {name}")
        self._need(pos, tsize, 1, f"table {name}")
        for i, (field, ftype, required) in enumerate(SCHEMA[name]):
            slot = 4 + 2 * i
            voff = struct.unpack_from("<H", self.buf, vt + slot)[0] if slot < vsize else 0
            what = f"{name}.{field}"
            if voff == 0:
                if required:
                    raise VerifyError(f"required field {what} is missing")
                continue
            fsize = ftype[1] if ftype[0] == "scalar" else 4
            if voff + fsize > tsize:
                raise VerifyError(f"field {what} lies outside its table")
            fpos = pos + voff
            self._need(fpos, fsize, fsize, what)
            kind = ftype[0]
            if kind == "string":
                self.string(fpos, what)
            elif kind == "vector":
                self.vector(fpos, ftype[1], what)
            elif kind == "table":
                self.table(self._deref(fpos, what), ftype[1])
            elif kind in ("strings", "tables"):
                start, length = self.vector(fpos, 4, what)
                for j in range(length):
                    if kind == "strings":
                        self.string(start + 4 * j, f"{what}[{j}]")
                    else:
                        self.table(self._deref(start + 4 * j, f"{what}[{j}]"), ftype[1])


def verify_model_buffer(buf: bytes, identifier: bytes = b"HMOE") -> None:
    """Raises VerifyError unless `buf` is a well-formed Model FlatBuffer."""
    if len(buf) < 8:
        raise VerifyError(f"header of {len(buf)} bytes is too short for a FlatBuffer")
    if bytes(buf[4:8]) != identifier:
        raise VerifyError(f"header lacks the {identifier.decode()} identifier")
    v = _Verifier(buf)
    v.table(v._deref(0, "root offset"), "Model")
