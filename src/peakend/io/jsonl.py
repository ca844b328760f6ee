"""JSON lines read by DuckDB's JSON reader, every value as text, for both loaders.

A JSON-lines source is read like a CSV file: every value comes back as text
(strings without their quotes, whole numbers as written, other numbers as the
shortest decimal that reads back: ``4.50`` is ``4.5``, ``1e3`` is ``1000.0``;
``null`` as missing), so validation parses scores and times itself and can name the
value it cannot read. The DuckDB loader reads the file in place through
:func:`jsonl_scan`; the pandas loader reads the same scan into a frame
(:func:`read_jsonl`), so both see the same values.

Why text and not the reader's own types: DuckDB guesses a column's type from the
first 20,480 lines and then casts later values to it (a ``4.5`` further down a
column of whole numbers became ``4``), and pandas' guess turns whole-number ids
into ``5.0`` when one is missing. As text, whole numbers stay whole and strings as they are.

The columns are every key of every line, in the order they first appear: the
reader's sample gives the usual ones, and one pass over the keys of every line
(0.4 s at a million lines) finds a key that only appears later (an exporter that
leaves out empty fields). The pass is needed: the reader drops a key it is not
given without a word.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from peakend.errors import DataError, SourceError
from peakend.io.files import BadRows, read_text, text_frame
from peakend.spec import SourceSpec
from peakend.sqltext import literal as _literal

if TYPE_CHECKING:
    import duckdb


def jsonl_scan(path: str, names: list[str], *, compression: str = "none") -> str:
    """``read_json`` of the JSON-lines file ``path`` (an SQL literal), the keys
    ``names`` as text columns in that order."""
    columns = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names)
    return (
        f"read_json({path}, format = 'newline_delimited', records = true, "
        f"compression = {_literal(compression)}, columns = {{{columns}}})"
    )


def jsonl_keys(db: duckdb.DuckDBPyConnection, path: str, *, compression: str = "none") -> list[str]:
    """Every key of the lines of ``path`` (an SQL literal), in order of first appearance
    (by line, then by place in the line; the connection must keep the file's order,
    ``preserve_insertion_order``, as it does by default)."""
    where = f"{path}, format = 'newline_delimited', compression = {_literal(compression)}"
    sampled = [str(r[0]) for r in db.sql(f"DESCRIBE SELECT * FROM read_json({where})").fetchall()]
    lines = f"read_json_objects({where})"
    keys = db.sql(f"SELECT DISTINCT unnest(json_keys(json)) FROM {lines}").fetchall()
    found = {str(r[0]) for r in keys}
    later = found - set(sampled)
    if not later:
        return sampled
    numbered = f"SELECT row_number() OVER () AS r, json_keys(json) AS ks FROM {lines}"
    keyed = f"SELECT r, unnest(ks) AS k, unnest(range(len(ks))) AS i FROM ({numbered})"
    listed = ", ".join(_literal(k) for k in later)
    ordered = db.sql(
        f"SELECT k FROM ({keyed}) WHERE k IN ({listed}) GROUP BY k ORDER BY min(r), arg_min(i, r)"
    ).fetchall()
    return sampled + [str(r[0]) for r in ordered]


def read_jsonl(source: SourceSpec, bad: BadRows, *, max_rows: int | None = None) -> pd.DataFrame:
    """Read JSON lines (one object per line) into a frame of text; a broken line is
    reported by row.

    The file is decoded as every text source is (declared or detected encoding,
    lines with bytes that are not of it noted in ``bad``) and read by DuckDB from a
    UTF-8 copy, with the columns and values :func:`jsonl_scan` gives the DuckDB
    loader.
    """
    import duckdb

    text = read_text(source, bad)
    if not text.strip():
        raise DataError(f"{source.label} is empty: it has no rows; export the data again")
    if max_rows is not None:
        text = "\n".join(text.splitlines()[:max_rows])
    with tempfile.TemporaryDirectory(prefix="peakend-jsonl-") as folder:
        copy = Path(folder) / "lines.jsonl"
        copy.write_text(text, encoding="utf-8")
        db = duckdb.connect()
        try:
            path = _literal(str(copy))
            db.execute("SET preserve_insertion_order = true")
            names = jsonl_keys(db, path)
            table = db.sql(f"SELECT * FROM {jsonl_scan(path, names)}").to_arrow_table()
        except duckdb.Error as exc:
            raise broken_line_error(source, text, exc) from exc
        finally:
            db.close()
    frame = text_frame(table)
    if frame.empty:
        raise DataError(f"{source.label} has a header but no rows; nothing to load")
    return frame


def broken_line_error(source: SourceSpec, text: str, exc: Exception) -> SourceError:
    """The error for a JSON-lines file a reader refused: the first line that is not
    a JSON object, by row."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return not_an_object(source, _first_bad_json_line(text), detail)


def not_an_object(source: SourceSpec, row: int | None, detail: str) -> SourceError:
    """The error for JSON lines whose data row ``row`` (if known) is not an object."""
    if row is None:
        return SourceError(f"{source.label}: the JSON lines cannot be read ({detail})")
    return SourceError(
        f"{source.label}: row {row} is not a JSON object ({detail}); every line must be one "
        "JSON object"
    )


def _first_bad_json_line(text: str) -> int | None:
    """The 1-based data row of the first non-blank line that is not a JSON object."""
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            return number
        if not isinstance(value, dict):
            return number
    return None
