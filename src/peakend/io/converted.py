"""Parquet copies of sources DuckDB cannot read in place, converted once.

An XES log or an Excel sheet is streamed into a Parquet file of text columns the
first time it is loaded; later loads read that file while the source is unchanged.
The copy lives in peakend's cache folder (:func:`peakend.datasets.cache_root`), one
per source file and reading options, with a stamp of the file's size, modification
time and the converter's version: any of them changed, it is converted again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def converted_copy(
    kind: str,
    path: Path,
    options: list[Any],
    version: int,
    convert: Callable[[Path], object],
) -> Path:
    """The Parquet copy of the file ``path`` read with ``options``, made by ``convert``.

    ``convert(target)`` writes the copy (and raises the source's own errors); it is
    called only when no copy with the file's current stamp exists. A conversion that
    fails leaves nothing behind, and two processes converting at once each write
    their own partial file.

    Raises
    ------
    OSError
        The cache folder cannot be written.
    """
    from peakend.datasets import cache_root

    info = path.stat()
    name = json.dumps([str(path.resolve()), *options])
    folder = cache_root() / kind / hashlib.sha256(name.encode()).hexdigest()[:20]
    stamp = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "format": version}
    target, stamp_file = folder / "events.parquet", folder / "stamp.json"
    if target.is_file() and stamp_file.is_file():
        if json.loads(stamp_file.read_text(encoding="utf-8")) == stamp:
            return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"events.{os.getpid()}.partial"
    try:
        convert(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stamp_file.write_text(json.dumps(stamp), encoding="utf-8")
    return target
