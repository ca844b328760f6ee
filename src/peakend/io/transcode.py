"""A text file in another encoding, copied to UTF-8 a block at a time.

DuckDB's CSV reader takes UTF-8 and Latin-1 only (other encodings come with an
extension it would download). A file in Windows-1252, what Excel on Windows
writes, or UTF-16 is therefore copied once to UTF-8 and read in place from the
copy, in bounded memory, instead of being decoded whole into memory. Lines stay
lines, so every row keeps its number.
"""

from __future__ import annotations

import codecs
import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

BLOCK_BYTES = 16 * 1024 * 1024
"""Bytes decoded at a time."""
_GZIP_MAGIC = b"\x1f\x8b"


def utf8_copy(path: Path, encodings: Sequence[str], target: Path) -> str:
    """Write the text of ``path`` (gunzipped when gzip) to ``target`` as UTF-8,
    decoded with the first of ``encodings`` in which every byte is valid; returns
    that encoding. A byte-order mark is left out.

    Raises
    ------
    UnicodeDecodeError
        No encoding of ``encodings`` decodes every byte (``target`` is removed).
    LookupError
        An encoding Python does not know.
    """
    for encoding in encodings:
        try:
            _copy(path, encoding, target)
        except UnicodeDecodeError:
            target.unlink(missing_ok=True)
            if encoding == encodings[-1]:
                raise
        else:
            return encoding
    raise ValueError("utf8_copy needs at least one encoding")


def _copy(path: Path, encoding: str, target: Path) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with _opened(path) as source, target.open("wb") as out:
        started = False
        while block := source.read(BLOCK_BYTES):
            text = decoder.decode(block)
            if not started and text:
                text, started = text.removeprefix("\ufeff"), True
            out.write(text.encode("utf-8"))
        out.write(decoder.decode(b"", final=True).encode("utf-8"))


def _opened(path: Path) -> BinaryIO:
    with path.open("rb") as file:
        magic = file.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")
