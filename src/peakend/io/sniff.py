"""What a file really is: compression, binary formats, text encoding and delimiter.

Users name files after what they hope they are. These helpers look at the bytes
instead, so that a gzip or zip file is unpacked whatever its name, a Parquet or
Excel file renamed ``.csv`` is refused with the ``format`` to set, and the
encoding and delimiter of a text export are found when the spec does not give
them. Every guess comes back with a sentence saying what was assumed, so the
loader can report it.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections import Counter
from pathlib import Path

from peakend.errors import SourceError

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_BINARY_KINDS: tuple[tuple[bytes, int, str, str], ...] = (
    (b"PAR1", 0, "a Parquet file", 'format = "parquet"'),
    (b"SQLite format 3\x00", 0, "a SQLite database", 'format = "sqlite" and `table`'),
    (b"DUCK", 8, "a DuckDB database", 'format = "duckdb" and `table`'),
    (b"\xd0\xcf\x11\xe0", 0, "an old Excel (.xls) workbook", 'format = "excel"'),
    (b"%PDF", 0, "a PDF document", "`path` to the exported data file"),
)
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_SNIFF_LINES = 30


def is_excel_workbook(data: bytes) -> bool:
    """True for an .xlsx/.xlsm/.ods file (a zip archive holding a workbook)."""
    if not data.startswith(_ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return False
    return any(n.startswith("xl/") for n in names) or "content.xml" in names


def is_pattern(path: str | Path) -> bool:
    """Whether ``path`` names files by a wildcard (``events-*.parquet``), not one file."""
    return any(ch in str(path) for ch in "*?[")


def existing_file(path: Path) -> Path:
    """``path``, checked to be a file.

    Raises
    ------
    SourceError
        It is a folder, or does not exist (the message names the spec's key to fix).
    """
    if path.is_dir():
        raise SourceError(f"{path} is a folder; set `path` in [source] to a file inside it")
    if not path.is_file():
        raise SourceError(f"{path} does not exist; check `path` in the [source] table of the spec")
    return path


def read_file_bytes(path: Path, *, limit: int | None = None) -> bytes:
    """The bytes of ``path`` as a user means them: gunzipped / unzipped when compressed.

    A zip archive must hold exactly one file (an Excel workbook, itself a zip, is
    returned as it is). ``limit`` returns only the first bytes of the content
    (plain and gzip files are then read no further).

    Raises
    ------
    SourceError
        The file is missing, a directory, or a broken or ambiguous archive.
    """
    existing_file(path)
    if limit is not None:
        with path.open("rb") as stream:
            magic = stream.read(4)
        if magic[:2] == _GZIP_MAGIC:
            try:
                with gzip.open(path, "rb") as unpacked:
                    return unpacked.read(limit)
            except (OSError, EOFError):
                pass  # a broken file: the full read below says what is wrong
        elif magic != _ZIP_MAGIC:
            with path.open("rb") as stream:
                return stream.read(limit)
    data = path.read_bytes()
    if data.startswith(_GZIP_MAGIC):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceError(
                f"{path} looks gzipped but cannot be decompressed ({exc}); the file is "
                "probably cut short: copy or download it again"
            ) from exc
    if data.startswith(_ZIP_MAGIC) and not is_excel_workbook(data):
        return _only_member(path, data)
    return data


def _only_member(path: Path, data: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith("__MACOSX/")
            ]
            if len(members) != 1:
                listed = ", ".join(m.filename for m in members[:8]) or "nothing"
                raise SourceError(
                    f"{path} is a zip archive holding {len(members)} files ({listed}); "
                    "unzip it and set `path` in [source] to the one file to read"
                )
            return archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{path} looks like a zip archive but cannot be opened: {exc}") from exc


def refuse_binary(data: bytes, label: str, fmt: str) -> None:
    """Raise :class:`SourceError` when ``data`` is not text (a ``fmt`` file was expected)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text has NUL bytes too
    if is_excel_workbook(data):
        kind, fix = "an Excel workbook", 'format = "excel"'
    else:
        found = [(k, f) for magic, at, k, f in _BINARY_KINDS if data[at : at + len(magic)] == magic]
        if found:
            kind, fix = found[0]
        elif b"\x00" in data[:8192]:
            kind, fix = "a binary file", "`path` to the exported text file"
        else:
            return
    raise SourceError(
        f"{label} is not a text file but {kind}, so it cannot be read as {fmt}; "
        f"set {fix} in [source]"
    )


def sniff_encoding(data: bytes) -> tuple[str, str | None]:
    """The encoding of a text file and, when it is not plain UTF-8, a note saying so.

    A byte-order mark decides; otherwise UTF-8 when every byte decodes, else
    Windows-1252 (what Excel on Windows writes), else Latin-1.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "read as UTF-16 (it starts with a UTF-16 byte-order mark)"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", None
    for name in ("cp1252", "latin-1"):
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        return name, not_utf8_note(name)
    return "latin-1", None  # unreachable: latin-1 decodes every byte


def not_utf8_note(encoding: str) -> str:
    """What :func:`sniff_encoding` says of a file it reads as ``encoding``, not UTF-8."""
    return (
        f"the file is not valid UTF-8; read as {encoding}. If accents look wrong, set "
        'encoding = "..." in [source]'
    )


def sniff_delimiter(text: str) -> tuple[str, str | None]:
    """The delimiter of delimited text and, when it is not a comma, a note saying so.

    Each candidate (``, ; tab |``) splits the first lines with proper quoting; the
    winner gives the same number of fields (more than one) on most lines, and the
    most fields among those that do.
    """
    lines = text.splitlines()[:_SNIFF_LINES]
    sample = "\n".join(lines)
    best, best_score = ",", (0, 0)
    for candidate in DELIMITERS:
        widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=candidate) if row]
        if not widths:
            continue
        width, agree = Counter(widths).most_common(1)[0]
        score = (agree, width) if width > 1 else (0, 0)
        if score > best_score:
            best, best_score = candidate, score
    if best == ",":
        return best, None
    shown = "\\t" if best == "\t" else best
    return best, f'read with delimiter = "{shown}" (found in the header), as if set in [source]'
