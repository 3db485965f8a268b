"""The fixed parts of a .hmoe file (formats/file_prefix.h, formats/hmoe.fbs, formats/dtype.h)."""
from __future__ import annotations

import dataclasses
import struct
from typing import Sequence

MAGIC = b"HYPRMOE\0"
FORMAT_VERSION = 1
DATA_SECTION_ALIGNMENT = 4096
TENSOR_ALIGNMENT = 64
PREFIX_SIZE = 64
FLATBUFFERS_MAX_BUFFER_SIZE = 2**31 - 1
QUANT_BLOCK = 32
_PREFIX = struct.Struct("<8sIIQQQQ2Q")
assert _PREFIX.size == PREFIX_SIZE

# DType enum values of the schema, and their names as the CLI spells them.
F32, F16, BF16, Q8_0, Q4_0, I32 = range(6)
DTYPE_NAMES = {F32: "f32", F16: "f16", BF16: "bf16", Q8_0: "q8_0", Q4_0: "q4_0", I32: "i32"}


@dataclasses.dataclass
class FilePrefix:
    magic: bytes = MAGIC
    format_version: int = FORMAT_VERSION
    flags: int = 0
    header_offset: int = PREFIX_SIZE
    header_size: int = 0
    data_offset: int = 0
    data_size: int = 0

    def pack(self) -> bytes:
        return _PREFIX.pack(self.magic, self.format_version, self.flags, self.header_offset,
                            self.header_size, self.data_offset, self.data_size, 0, 0)

    @classmethod
    def unpack(cls, raw: bytes) -> "FilePrefix":
        magic, ver, flags, ho, hs, do, ds, _, _ = _PREFIX.unpack_from(raw)
        return cls(magic, ver, flags, ho, hs, do, ds)


def align_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def storage_bytes(dtype: int, shape: Sequence[int]) -> int:
    """Bytes a tensor takes in the file, or -1 when the shape cannot be stored in the
    dtype (as hmoe::storage_bytes)."""
    k_max = (2**63 - 1) // 8  # shapes come from untrusted files: the C++ overflow guard
    n = 1
    for s in shape:
        if s < 0 or (s != 0 and n > k_max // s):
            return -1
        n *= s
    if dtype in (F32, I32):
        return n * 4
    if dtype in (F16, BF16):
        return n * 2
    if dtype in (Q8_0, Q4_0):
        if not shape or shape[-1] % QUANT_BLOCK:
            return -1
        return (n if dtype == Q8_0 else n // 2) + n // QUANT_BLOCK * 2
    return -1
