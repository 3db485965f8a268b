"""Reads and writes the safetensors format with numpy alone (the safetensors package
is not available here).

Layout: u64 little-endian N, then N bytes of JSON {name: {"dtype", "shape",
"data_offsets": [begin, end]}, "__metadata__": {...}}, then the raw little-endian
data; offsets are relative to the end of the JSON.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Dict, Mapping, Optional

import numpy as np

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
# numpy has no bfloat16: BF16 is read as its raw uint16 bits and widened to f32.
_BF16 = "BF16"


class SafetensorsError(ValueError):
    pass


def _bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def read_safetensors(path: str) -> Dict[str, np.ndarray]:
    """name -> array. Arrays are memory-mapped, read only when used (BF16 excepted)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"'{path}' is {size} bytes, too short for safetensors")
        n = struct.unpack("<Q", head)[0]
        if n > size - 8 or n > 100 << 20:
            raise SafetensorsError(f"'{path}': header length {n} exceeds the file of {size} bytes")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SafetensorsError(f"'{path}': header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"'{path}': header is not a JSON object")
    data_start = 8 + n
    data_len = size - data_start
    out: Dict[str, np.ndarray] = {}
    mm = np.memmap(path, dtype=np.uint8, mode="r", offset=data_start, shape=(data_len,)) if data_len else None
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype_name, shape, (begin, end) = info["dtype"], list(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"'{path}': tensor '{name}' has a malformed entry {info!r}") from None
        if dtype_name not in _DTYPES and dtype_name != _BF16:
            raise SafetensorsError(f"'{path}': tensor '{name}' has unsupported dtype {dtype_name}")
        if not all(isinstance(s, int) and s >= 0 for s in shape):
            raise SafetensorsError(f"'{path}': tensor '{name}' has bad shape {shape}")
        item = 2 if dtype_name == _BF16 else np.dtype(_DTYPES[dtype_name]).itemsize
        want = int(np.prod(shape, dtype=np.int64)) * item
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= data_len):
            raise SafetensorsError(f"'{path}': tensor '{name}' data [{begin}, {end}) lies outside the file")
        if end - begin != want:
            raise SafetensorsError(f"'{path}': tensor '{name}' has {end - begin} bytes, "
                                   f"{dtype_name} {shape} needs {want}")
        raw = mm[begin:end] if mm is not None else np.zeros(0, np.uint8)
        if dtype_name == _BF16:
            out[name] = _bf16_to_f32(raw.view(np.uint16)).reshape(shape)
        else:
            out[name] = raw.view(_DTYPES[dtype_name]).reshape(shape)
    return out


def write_safetensors(path: str, tensors: Mapping[str, np.ndarray],
                      metadata: Optional[Mapping[str, str]] = None) -> None:
    names = {np.dtype(v).name: k for k, v in _DTYPES.items()}
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    arrays = []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        if a.dtype.name not in names:
            raise SafetensorsError(f"tensor '{name}': dtype {a.dtype} has no safetensors name here")
        header[name] = {"dtype": names[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        arrays.append(a)
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # keeps the data 8-byte aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for a in arrays:
            f.write(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
