"""Reads a .hmoe file into numpy, with the checks of the C++ reader
(formats/model_file.cpp): prefix, FlatBuffers verification, then each tensor's dtype,
rank, size, alignment and range, and that no two tensors overlap. A bad file raises
HmoeFormatError with a message that says what is wrong."""
from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from . import schema as fbs
from .fb_verify import VerifyError, verify_model_buffer
from .file_layout import (BF16, DATA_SECTION_ALIGNMENT, DTYPE_NAMES, F16, F32, FLATBUFFERS_MAX_BUFFER_SIZE,
                          FORMAT_VERSION, I32, MAGIC, PREFIX_SIZE, Q8_0, QUANT_BLOCK,
                          TENSOR_ALIGNMENT, FilePrefix, storage_bytes)
from .tokenizer_files import GPT2Tokenizer, SentencePieceTokenizer

HPARAM_FIELDS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon",
                 "n_experts", "top_k", "use_hypernet", "experts_embedding_dim", "process_dim",
                 "hypernet_input", "hypernetwork_bottleneck", "layer_emb_dim", "adapter_dim",
                 "d_kv", "d_ff", "n_decoder_layer", "encoder_sparse_step", "decoder_sparse_step",
                 "expert_capacity", "router_bias", "relative_attention_num_buckets",
                 "relative_attention_max_distance", "tie_word_embeddings", "decoder_start_token_id")
_BOOL_HPARAMS = ("use_hypernet", "router_bias", "tie_word_embeddings")


class HmoeFormatError(ValueError):
    pass


@dataclasses.dataclass
class TensorEntry:
    name: str
    dtype: int
    shape: Tuple[int, ...]
    offset: int  # relative to the data section
    size: int

    @property
    def dtype_name(self) -> str:
        return DTYPE_NAMES[self.dtype]


def _camel(field: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in field.split("_"))


class HmoeFile:
    def __init__(self, path: str):
        self.path = path
        where = f"'{path}': "
        size = os.path.getsize(path)
        if size < PREFIX_SIZE:
            raise HmoeFormatError(f"{where}{size} bytes, too small for a .hmoe file "
                                  "(the prefix alone is 64 bytes)")
        self.file_size = size
        with open(path, "rb") as f:
            pre = FilePrefix.unpack(f.read(PREFIX_SIZE))
            if pre.magic != MAGIC:
                raise HmoeFormatError(where + "not a .hmoe file (bad magic)")
            if pre.format_version == 0 or pre.format_version > FORMAT_VERSION:
                raise HmoeFormatError(f"{where}format version {pre.format_version} is not supported "
                                      f"(this reader reads versions 1..{FORMAT_VERSION})")

            def in_file(off, n):
                return off <= size and n <= size - off

            if pre.header_offset < PREFIX_SIZE or not in_file(pre.header_offset, pre.header_size):
                raise HmoeFormatError(f"{where}header range [{pre.header_offset}, +{pre.header_size}) lies "
                                      f"outside the file of {size} bytes (truncated?)")
            if pre.header_size >= FLATBUFFERS_MAX_BUFFER_SIZE:
                raise HmoeFormatError(f"{where}header of {pre.header_size} bytes is too large")
            if pre.data_offset % DATA_SECTION_ALIGNMENT:
                raise HmoeFormatError(f"{where}data section offset {pre.data_offset} is not a multiple "
                                      f"of {DATA_SECTION_ALIGNMENT}")
            if not in_file(pre.data_offset, pre.data_size):
                raise HmoeFormatError(f"{where}data section [{pre.data_offset}, +{pre.data_size}) lies "
                                      f"outside the file of {size} bytes (truncated?)")
            if pre.data_offset < pre.header_offset + pre.header_size:
                raise HmoeFormatError(where + "data section overlaps the header")
            f.seek(pre.header_offset)
            self.header_bytes = f.read(pre.header_size)
        self.prefix = pre
        try:
            verify_model_buffer(self.header_bytes, fbs.FILE_IDENTIFIER)
        except VerifyError as e:
            raise HmoeFormatError(f"{where}header failed FlatBuffers verification (corrupt file): {e}") from None
        m = fbs.Model.Model.GetRootAs(self.header_bytes, 0)
        self.model = m
        if m.DataAlignment() == 0 or m.DataAlignment() % TENSOR_ALIGNMENT:
            raise HmoeFormatError(f"{where}data alignment {m.DataAlignment()} is not a multiple of 64")
        self.arch = m.Arch()
        self.hyper_baked = bool(m.HyperBaked())
        hp = m.Hparams()
        self.hparams: Dict[str, object] = {k: getattr(hp, _camel(k))() for k in HPARAM_FIELDS}
        for k in _BOOL_HPARAMS:
            self.hparams[k] = bool(self.hparams[k])
        self.metadata: Dict[str, str] = {}
        for i in range(m.MetadataLength()):
            kv = m.Metadata(i)
            self.metadata[kv.Key().decode("utf-8", "replace")] = (kv.Value() or b"").decode("utf-8", "replace")
        self.tokenizer_kind = 0
        self.tokenizer: Optional[Union[GPT2Tokenizer, SentencePieceTokenizer]] = None
        tok = m.Tokenizer()
        if tok is not None and tok.Kind() != fbs.TokenizerKind.TokenizerKind.GPT2_BPE:
            # SENTENCEPIECE, or NONE with special ids (a Switch file without spiece.model).
            self.tokenizer_kind = tok.Kind()
            sp = tok.SpModelAsNumpy() if tok.SpModelLength() else None
            self.tokenizer = SentencePieceTokenizer(
                sp_model=None if sp is None else bytes(sp), eos_id=tok.EosId(), pad_id=tok.PadId(),
                bos_id=tok.BosId(), added=[tok.Vocab(i).decode("utf-8", "replace") for i in range(tok.VocabLength())])
        elif tok is not None:
            self.tokenizer_kind = tok.Kind()
            self.tokenizer = GPT2Tokenizer(
                vocab=[tok.Vocab(i).decode("utf-8", "replace") for i in range(tok.VocabLength())],
                merges=[tok.Merges(i).decode("utf-8", "replace") for i in range(tok.MergesLength())],
                eos_id=tok.EosId(), bos_id=tok.BosId())
        self.tensors: Dict[str, TensorEntry] = {}
        for i in range(m.TensorsLength()):
            t = m.Tensors(i)
            name = t.Name().decode("utf-8", "replace")
            tw = f"{where}tensor '{name}': "
            if name in self.tensors:
                raise HmoeFormatError(f"{where}tensor '{name}' appears twice")
            if t.Dtype() not in DTYPE_NAMES:
                raise HmoeFormatError(f"{tw}unknown dtype {t.Dtype()}")
            shape = tuple(int(t.Shape(j)) for j in range(t.ShapeLength()))
            if not 1 <= len(shape) <= 4:
                raise HmoeFormatError(f"{tw}rank {len(shape)} is not 1..4")
            want = storage_bytes(t.Dtype(), shape)
            if want < 0:
                raise HmoeFormatError(f"{tw}shape {list(shape)} cannot be stored as {DTYPE_NAMES[t.Dtype()]}")
            if t.Size() != want:
                raise HmoeFormatError(f"{tw}size is {t.Size()} bytes, but {DTYPE_NAMES[t.Dtype()]} "
                                      f"{list(shape)} needs {want}")
            if t.Offset() % m.DataAlignment():
                raise HmoeFormatError(f"{tw}offset {t.Offset()} is not {m.DataAlignment()}-byte aligned")
            if t.Offset() > pre.data_size or t.Size() > pre.data_size - t.Offset():
                raise HmoeFormatError(f"{tw}bytes [{t.Offset()}, +{t.Size()}) lie outside the data section "
                                      f"of {pre.data_size} bytes")
            self.tensors[name] = TensorEntry(name, t.Dtype(), shape, t.Offset(), t.Size())
        by_offset = sorted(self.tensors.values(), key=lambda e: e.offset)
        for a, b in zip(by_offset, by_offset[1:]):
            if a.size and a.offset + a.size > b.offset:
                raise HmoeFormatError(f"{where}tensors '{a.name}' and '{b.name}' overlap")
        self._data = (np.memmap(path, dtype=np.uint8, mode="r", offset=pre.data_offset, shape=(pre.data_size,))
                      if pre.data_size else np.zeros(0, np.uint8))

    # --- tensor data -----------------------------------------------------------------

    def raw(self, name: str) -> np.ndarray:
        e = self.entry(name)
        return self._data[e.offset:e.offset + e.size]

    def entry(self, name: str) -> TensorEntry:
        if name not in self.tensors:
            raise HmoeFormatError(f"'{self.path}': tensor '{name}' is missing")
        return self.tensors[name]

    def array(self, name: str) -> np.ndarray:
        """The tensor's values: f32 and i32 as stored, every other dtype widened to f32."""
        e = self.entry(name)
        raw = self.raw(name)
        if e.dtype == F32:
            return raw.view("<f4").reshape(e.shape)
        if e.dtype == I32:
            return raw.view("<i4").reshape(e.shape)
        if e.dtype == F16:
            return raw.view("<f2").astype(np.float32).reshape(e.shape)
        if e.dtype == BF16:
            return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(e.shape)
        n = int(np.prod(e.shape))
        nq = n if e.dtype == Q8_0 else n // 2
        scales = raw[nq:].view("<f2").astype(np.float32).reshape(-1, 1)
        if e.dtype == Q8_0:
            q = raw[:nq].view(np.int8).astype(np.float32).reshape(-1, QUANT_BLOCK)
        else:
            packed = raw[:nq].reshape(-1, QUANT_BLOCK // 2)
            q = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.float32) - 8.0
        return (q * scales).reshape(e.shape)

    def arrays(self) -> Dict[str, np.ndarray]:
        return {n: self.array(n) for n in self.tensors}

    def tensor_names(self) -> List[str]:
        return list(self.tensors)


def read_hmoe(path: str) -> HmoeFile:
    return HmoeFile(path)
