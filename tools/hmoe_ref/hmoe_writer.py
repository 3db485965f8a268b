"""Writes a .hmoe file: 64-byte prefix, FlatBuffers header, page-aligned data section
with every tensor at a 64-byte aligned offset (the layout of formats/model_writer.cpp).

Tensors are produced one at a time while writing, so a converter never holds more
than one converted tensor in memory besides its source checkpoint.
"""
from __future__ import annotations

import dataclasses
from typing import BinaryIO, Callable, Dict, List, Optional, Sequence, Tuple, Union

import flatbuffers
import numpy as np

from . import schema as fbs
from .atomic_file import atomic_output
from .file_layout import (DATA_SECTION_ALIGNMENT, DTYPE_NAMES, F16, F32, FLATBUFFERS_MAX_BUFFER_SIZE, I32,
                          PREFIX_SIZE, TENSOR_ALIGNMENT, FilePrefix, align_up, storage_bytes)
from .tokenizer_files import GPT2Tokenizer, SentencePieceTokenizer

_NUMPY_DTYPE = {F32: np.float32, F16: np.float16, I32: np.int32}  # stored as numpy writes them


@dataclasses.dataclass
class PlannedTensor:
    name: str
    dtype: int                        # schema DType value
    shape: Tuple[int, ...]
    produce: Callable[[], np.ndarray]  # called once, while writing; returns the tensor's values

    @property
    def size(self) -> int:
        return storage_bytes(self.dtype, self.shape)


def _bytes_of(t: PlannedTensor) -> bytes:
    """f32, f16 and i32 tensors are produced as values; bf16 and the block types as their
    raw bytes (a uint8 array in the layout of formats/hmoe.fbs)."""
    a = t.produce()
    if t.dtype not in _NUMPY_DTYPE:
        if a.dtype != np.uint8 or a.size != t.size:
            raise ValueError(f"tensor '{t.name}': a {DTYPE_NAMES[t.dtype]} tensor is produced as "
                             f"{t.size} raw bytes (uint8), got {a.dtype} x {a.size}")
        return np.ascontiguousarray(a).tobytes()
    if tuple(a.shape) != tuple(t.shape):
        raise ValueError(f"tensor '{t.name}': produced shape {list(a.shape)}, planned {list(t.shape)}")
    stored = np.ascontiguousarray(a, dtype=np.dtype(_NUMPY_DTYPE[t.dtype]).newbyteorder("<"))
    if t.dtype != I32 and not np.isfinite(stored).all():
        bad = "its values" if not np.isfinite(a).all() else f"its values as {np.dtype(_NUMPY_DTYPE[t.dtype])}"
        raise ValueError(f"tensor '{t.name}': {bad} include inf or NaN (max |value| {np.nanmax(np.abs(a)):g})")
    return stored.tobytes()


def _strings_vector(b: flatbuffers.Builder, items: Sequence[str]) -> int:
    offs = [b.CreateString(s) for s in items]
    b.StartVector(4, len(offs), 4)
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _tables_vector(b: flatbuffers.Builder, offs: Sequence[int]) -> int:
    b.StartVector(4, len(offs), 4)
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def build_header(hparams: Dict[str, object], tokenizer: Optional[Union[GPT2Tokenizer, SentencePieceTokenizer]],
                 metadata: Sequence[Tuple[str, str]], tensors: Sequence[Tuple[PlannedTensor, int]],
                 arch: int = 0, hyper_baked: bool = False) -> bytes:
    """The FlatBuffer of the Model table. `tensors`: (tensor, offset in the data section)."""
    b = flatbuffers.Builder(1 << 16)
    H = fbs.HParams
    setters = {
        "vocab_size": H.AddVocabSize, "n_positions": H.AddNPositions, "n_embd": H.AddNEmbd,
        "n_layer": H.AddNLayer, "n_head": H.AddNHead, "layer_norm_epsilon": H.AddLayerNormEpsilon,
        "n_experts": H.AddNExperts, "top_k": H.AddTopK, "use_hypernet": H.AddUseHypernet,
        "experts_embedding_dim": H.AddExpertsEmbeddingDim, "process_dim": H.AddProcessDim,
        "hypernet_input": H.AddHypernetInput, "hypernetwork_bottleneck": H.AddHypernetworkBottleneck,
        "layer_emb_dim": H.AddLayerEmbDim, "adapter_dim": H.AddAdapterDim,
        # Encoder-decoder (Switch) fields.
        "d_kv": H.AddDKv, "d_ff": H.AddDFf, "n_decoder_layer": H.AddNDecoderLayer,
        "encoder_sparse_step": H.AddEncoderSparseStep, "decoder_sparse_step": H.AddDecoderSparseStep,
        "expert_capacity": H.AddExpertCapacity, "router_bias": H.AddRouterBias,
        "relative_attention_num_buckets": H.AddRelativeAttentionNumBuckets,
        "relative_attention_max_distance": H.AddRelativeAttentionMaxDistance,
        "tie_word_embeddings": H.AddTieWordEmbeddings, "decoder_start_token_id": H.AddDecoderStartTokenId,
    }
    unknown = set(hparams) - set(setters)
    if unknown:
        raise ValueError(f"unknown hparams: {sorted(unknown)}")

    tok_off = None
    if isinstance(tokenizer, SentencePieceTokenizer):
        sp = b.CreateByteVector(tokenizer.sp_model) if tokenizer.sp_model else None
        T = fbs.Tokenizer
        T.Start(b)
        T.AddKind(b, fbs.TokenizerKind.TokenizerKind.SENTENCEPIECE if sp is not None
                  else fbs.TokenizerKind.TokenizerKind.NONE)
        if sp is not None:
            T.AddSpModel(b, sp)
        T.AddEosId(b, tokenizer.eos_id)
        T.AddBosId(b, tokenizer.bos_id)
        T.AddPadId(b, tokenizer.pad_id)
        tok_off = T.End(b)
    elif tokenizer is not None:
        vocab = _strings_vector(b, tokenizer.vocab)
        merges = _strings_vector(b, tokenizer.merges)
        T = fbs.Tokenizer
        T.Start(b)
        T.AddKind(b, fbs.TokenizerKind.TokenizerKind.GPT2_BPE)
        T.AddVocab(b, vocab)
        T.AddMerges(b, merges)
        T.AddEosId(b, tokenizer.eos_id)
        T.AddBosId(b, tokenizer.bos_id)
        tok_off = T.End(b)

    kv_offs = []
    for key, value in metadata:
        k, v = b.CreateString(key), b.CreateString(value)
        fbs.KeyValue.Start(b)
        fbs.KeyValue.AddKey(b, k)
        fbs.KeyValue.AddValue(b, v)
        kv_offs.append(fbs.KeyValue.End(b))
    meta_vec = _tables_vector(b, kv_offs)

    t_offs = []
    for t, offset in tensors:
        name = b.CreateString(t.name)
        fbs.Tensor.StartShapeVector(b, len(t.shape))
        for s in reversed(t.shape):
            b.PrependInt64(int(s))
        shape = b.EndVector()
        fbs.Tensor.Start(b)
        fbs.Tensor.AddName(b, name)
        fbs.Tensor.AddDtype(b, t.dtype)
        fbs.Tensor.AddShape(b, shape)
        fbs.Tensor.AddOffset(b, offset)
        fbs.Tensor.AddSize(b, t.size)
        t_offs.append(fbs.Tensor.End(b))
    tensors_vec = _tables_vector(b, t_offs)

    H.Start(b)
    for key, value in hparams.items():
        setters[key](b, value)
    hp = H.End(b)

    M = fbs.Model
    M.Start(b)
    M.AddArch(b, arch)
    M.AddHparams(b, hp)
    if tok_off is not None:
        M.AddTokenizer(b, tok_off)
    M.AddMetadata(b, meta_vec)
    M.AddTensors(b, tensors_vec)
    M.AddDataAlignment(b, TENSOR_ALIGNMENT)
    M.AddHyperBaked(b, hyper_baked)
    b.Finish(M.End(b), file_identifier=fbs.FILE_IDENTIFIER)
    return bytes(b.Output())


def write_hmoe(path: Union[str, BinaryIO], hparams: Dict[str, object],
               tokenizer: Optional[Union[GPT2Tokenizer, SentencePieceTokenizer]],
               metadata: Sequence[Tuple[str, str]], tensors: List[PlannedTensor],
               progress: Optional[Callable[[int, int], None]] = None, arch: int = 0) -> int:
    """Writes the file to `path` through atomic_output (atomic_file.py): the destination
    is checked before anything is written, and a failure leaves nothing behind. `path`
    may instead be a file a caller opened with atomic_output (to check the destination
    before its own work). `progress(bytes_done, bytes_total)`. Returns the file size."""
    if isinstance(path, str):
        with atomic_output(path) as f:
            return write_hmoe(f, hparams, tokenizer, metadata, tensors, progress, arch)
    f = path
    names = set()
    placed = []
    offset = 0
    for t in tensors:
        if t.name in names:
            raise ValueError(f"tensor '{t.name}' planned twice")
        if t.size < 0:
            raise ValueError(f"tensor '{t.name}': shape {list(t.shape)} cannot be stored in dtype {t.dtype}")
        names.add(t.name)
        placed.append((t, offset))
        offset = align_up(offset + t.size, TENSOR_ALIGNMENT)
    data_size = offset
    header = build_header(hparams, tokenizer, metadata, placed, arch=arch)
    if len(header) >= FLATBUFFERS_MAX_BUFFER_SIZE:
        raise ValueError(f"header of {len(header)} bytes exceeds the FlatBuffers limit")
    prefix = FilePrefix(header_size=len(header),
                        data_offset=align_up(PREFIX_SIZE + len(header), DATA_SECTION_ALIGNMENT),
                        data_size=data_size)
    f.write(prefix.pack())
    f.write(header)
    f.write(b"\0" * (prefix.data_offset - PREFIX_SIZE - len(header)))
    pos = 0
    for t, at in placed:
        f.write(b"\0" * (at - pos))
        raw = _bytes_of(t)
        f.write(raw)
        pos = at + len(raw)
        if progress:
            progress(pos, data_size)
    f.write(b"\0" * (data_size - pos))
    return prefix.data_offset + data_size
