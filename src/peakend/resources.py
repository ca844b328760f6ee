"""How much memory DuckDB may use and where it spills: out of core by default.

Every DuckDB connection peakend opens (:func:`peakend.engine.connect`) gets a
memory limit and a spill directory, so an event log larger than memory
completes by writing intermediate results to disk instead of failing or
swapping. The defaults follow the machine; two environment variables override
them:

``PEAKEND_MEMORY_LIMIT``
    DuckDB's memory limit, as DuckDB writes sizes (``"6GB"``, ``"512MB"``) or as
    a share of this machine's memory (``"50%"``). Default: 15 % of the physical
    memory (or of the container's memory limit, when lower), see :data:`DEFAULT_SHARE`.
``PEAKEND_TEMP_DIR``
    The folder under which each connection gets its own spill folder. Default:
    the operating system's temporary folder (``$TMPDIR``, ``/tmp``).

DuckDB creates a connection's spill folder only when it spills and removes it
when the connection closes.
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from peakend.errors import ConfigError

MEMORY_VAR = "PEAKEND_MEMORY_LIMIT"
TEMP_VAR = "PEAKEND_TEMP_DIR"
DEFAULT_SHARE = 0.15
"""DuckDB's default share of memory. The limit bounds DuckDB's own buffers only: the
process also holds what comes back to Python (``peakend journeys`` on 100M events: the
features of 10.7M journeys, 2.5 GB, and the outcomes) and DuckDB's memory outside its
buffers, together 3-5 GB more at 100M events. With 15 % of a 23 GB machine (3.5 GB,
two thirds of it while the features arrive: :data:`peakend.engine.tables.FEATURES_SHARE`)
that command peaked at 6.9 GB, within a third of memory (with 60 % it would take far
more); with 12.5 % its flow graph runs out of memory. The rest of the work spills
to the spill folder; more memory for DuckDB (``PEAKEND_MEMORY_LIMIT``) spills less."""
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
_serial = itertools.count()


@dataclass(frozen=True)
class Resources:
    """The memory limit (DuckDB size text) and spill folder of one connection."""

    memory_limit: str | None
    temp_directory: Path

    def duckdb_config(self) -> dict[str, str | bool | int | float | list[str]]:
        """The settings as DuckDB's ``config`` keys."""
        config: dict[str, str | bool | int | float | list[str]] = {
            "temp_directory": str(self.temp_directory)
        }
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        return config


def physical_memory() -> int | None:
    """Bytes of memory this process may use: the machine's, or its container's limit if lower.

    None where the operating system does not say (DuckDB then keeps its own default).
    """
    try:
        total: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = None
    for path in _CGROUP_LIMITS:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and (total is None or int(text) < total):
            total = int(text)
    return total


def memory_limit(value: str | None = None) -> str | None:
    """DuckDB's memory limit: ``value``, else ``$PEAKEND_MEMORY_LIMIT``, else 15 % of memory.

    Raises :class:`~peakend.errors.ConfigError` for a value that is neither a size
    nor a percentage.
    """
    text = value if value is not None else os.environ.get(MEMORY_VAR, "")
    if not text.strip():
        total = physical_memory()
        return None if total is None else megabytes(total * DEFAULT_SHARE)
    if _SIZE.match(text):
        return text.strip().replace(" ", "")
    percent = _PERCENT.match(text)
    if percent and 0 < float(percent.group(1)) <= 100:
        total = physical_memory()
        if total is None:
            raise ConfigError(
                f"{MEMORY_VAR}={text!r}: this system does not report its memory size; "
                "give a size such as 6GB instead of a percentage"
            )
        return megabytes(total * float(percent.group(1)) / 100)
    raise ConfigError(
        f"{MEMORY_VAR}={text!r} is not a memory size: write a size such as 6GB or 512MB, "
        "or a share of this machine's memory such as 50%"
    )


def spill_root(value: str | Path | None = None) -> Path:
    """The folder under which connections spill: ``value``, ``$PEAKEND_TEMP_DIR`` or the OS's."""
    text = value if value is not None else os.environ.get(TEMP_VAR, "")
    root = Path(text) if str(text).strip() else Path(tempfile.gettempdir())
    if root.exists() and not root.is_dir():
        raise ConfigError(
            f"{TEMP_VAR}={str(root)!r} is a file, not a folder: set it to a folder with free space"
        )
    return root


def resources(memory: str | None = None, temp_directory: str | Path | None = None) -> Resources:
    """The settings for one new connection; its spill folder is its own.

    Two connections (two processes, or two connections in one process) never
    share a spill folder, so DuckDB's temporary files cannot collide.
    """
    folder = spill_root(temp_directory) / f"peakend-spill-{os.getpid()}-{next(_serial)}"
    return Resources(memory_limit=memory_limit(memory), temp_directory=folder)


_UNIT_BYTES = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def size_bytes(text: str) -> int | None:
    """Bytes of a size as DuckDB writes it (``"6GB"``, ``"3.5 GiB"``); None if it is not one."""
    size = _SIZE.match(text)
    if size is None:
        return None
    return int(float(size.group(1)) * _UNIT_BYTES[size.group(2).upper()])


def megabytes(size: float) -> str:
    """``size`` bytes as a DuckDB memory limit in whole MiB (at least 64)."""
    return f"{max(int(size // 2**20), 64)}MiB"
