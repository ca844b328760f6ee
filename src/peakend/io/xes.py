"""Read XES event logs (IEEE 1849) with a streaming XML parser.

The log is parsed trace by trace with :func:`lxml.etree.iterparse`; each trace is
cleared once its events are copied out, so memory stays flat however long the log.
pm4py is not needed (it is AGPL-3.0 and heavy). :func:`read_xes` gives the events
as one pandas frame (for the pandas loader and the spec drafter);
:func:`cached_parquet` streams them into a Parquet file once, a chunk of events at a
time, which the DuckDB loader then reads in place as it reads any Parquet file.

Columns are named as pm4py names them, so files exported by process-mining tools
line up: ``case:concept:name`` (the trace id), ``concept:name``, ``time:timestamp``,
``lifecycle:transition``, ``org:resource``, then every other event attribute by its
key, then every other trace attribute as ``case:<key>``. Values stay the text
written in the file (timestamps too); validation parses them later.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from lxml import etree

from peakend.errors import DataError, SourceError
from peakend.io.parts import PartFiles
from peakend.spec import SourceSpec

CASE_ID = "case:concept:name"
STANDARD_COLUMNS: tuple[str, ...] = (
    CASE_ID,
    "concept:name",
    "time:timestamp",
    "lifecycle:transition",
    "org:resource",
)
_GZIP_MAGIC = b"\x1f\x8b"
_Stream = gzip.GzipFile | BinaryIO
_LIFECYCLE = "lifecycle:transition"
_CHUNK_EVENTS = 100_000
"""Events :func:`xes_to_parquet` holds in memory before writing them out."""
_PARQUET_FORMAT = 1
"""Version of :func:`xes_to_parquet`'s output; a cached file of another is converted again."""


def read_xes(source: SourceSpec, *, max_rows: int | None = None) -> pd.DataFrame:
    """Read an XES event log into one row per event.

    Parameters
    ----------
    source
        ``source.path`` is a ``.xes`` file, plain or gzip-compressed (detected
        from the content, not the name). If ``source.lifecycle`` is not empty,
        only events whose ``lifecycle:transition`` is one of those values
        (compared case-insensitively) are kept.
    max_rows
        Stop after the trace that brings the events read to this many (a sample
        for profiling; the rest of the file is not parsed).

    Returns
    -------
    pandas.DataFrame
        One row per event in file order, with the five standard columns first
        (missing values are NA), then other event attributes in order of first
        appearance, then trace attributes as ``case:<key>``. All values are the
        strings written in the file.

    Raises
    ------
    SourceError
        If the file is missing, unreadable, not valid XML or not an XES log.
    DataError
        If the log holds no events (or none pass the lifecycle filter).
    """
    path = _log_with_bytes(source)
    with _open(path) as stream:
        rows, trace_keys, n_traces = _parse(stream, path, max_rows)
    if not rows:
        raise _no_events(path, n_traces)
    frame = _frame(rows, trace_keys)
    if source.lifecycle:
        frame = _filter_lifecycle(frame, source.lifecycle, path)
    return frame


def _existing_path(source: SourceSpec) -> Path:
    if source.path is None:
        raise SourceError("an XES source needs `path`, the .xes or .xes.gz file to read")
    path = Path(source.path)
    if not path.is_file():
        raise SourceError(f"XES file {path} does not exist; check `path` in the dataset spec")
    return path


def _log_with_bytes(source: SourceSpec) -> Path:
    """The log's path, refused when it is missing or empty."""
    path = _existing_path(source)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); export the event log again")
    return path


def _no_events(path: Path, n_traces: int) -> DataError:
    return DataError(f"{path}: the file is empty: the log has no events ({n_traces} traces)")


def _none_kept(path: Path, keep: tuple[str, ...], present: list[str]) -> DataError:
    """The lifecycle filter kept no event; ``present`` are the transitions the log has."""
    return DataError(
        f"{path}: no event has a lifecycle:transition in {list(keep)}; "
        f"the log has {present or 'none'}; change `lifecycle` in the dataset spec"
    )


def _open(path: Path) -> _Stream:
    try:
        with path.open("rb") as probe:
            magic = probe.read(2)
        return gzip.open(path, "rb") if magic == _GZIP_MAGIC else path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot read XES file {path}: {exc.strerror or exc}") from exc


def _parse(
    stream: _Stream, path: Path, max_rows: int | None = None
) -> tuple[list[dict[str, str]], list[str], int]:
    """Copy every event out of the log (or the whole traces that hold the first
    ``max_rows`` events); return rows, trace attribute keys, trace count."""
    rows: list[dict[str, str]] = []
    trace_keys: dict[str, None] = {}
    n_traces = 0
    with _reading(path):
        for trace in _traces(stream, path):
            n_traces += 1
            case = _trace_rows(trace, rows)
            trace_keys.update(dict.fromkeys(case))
            if max_rows is not None and len(rows) >= max_rows:
                break
    return rows, list(trace_keys), n_traces


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn the parser's and the file's errors into a :class:`SourceError` naming the fix."""
    try:
        yield
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise SourceError(
            f"{path}, line {line}: the file is not valid XES/XML ({exc.msg}); "
            "fix or re-export the log"
        ) from exc
    except (OSError, EOFError) as exc:
        raise SourceError(f"cannot read XES file {path}: {exc}; is it truncated?") from exc


def _traces(stream: _Stream, path: Path) -> Iterator[Any]:
    """Yield each ``<trace>`` element, then clear it and everything before it."""
    context = etree.iterparse(
        stream,
        events=("end",),
        tag="{*}trace",
        remove_comments=True,
        remove_pis=True,
        resolve_entities=False,
        huge_tree=True,
    )
    for _, trace in context:
        if _local(trace.getparent().tag) == "log":
            yield trace
        trace.clear()
        while trace.getprevious() is not None:
            del trace.getparent()[0]
    root = context.root
    if root is None or _local(root.tag) != "log":
        found = "nothing" if root is None else f"<{_local(root.tag)}>"
        raise SourceError(f"{path}: not an XES log: the root element is {found}, not <log>")


def _trace_rows(trace: Any, rows: list[dict[str, str]]) -> dict[str, str]:
    """Append one row per event of ``trace`` to ``rows``; return the trace attributes."""
    case: dict[str, str] = {}
    events = []
    for child in trace:
        if _local(child.tag) == "event":
            events.append(child)
            continue
        key, value = child.get("key"), child.get("value")
        if key is not None and value is not None:
            case[CASE_ID if key == "concept:name" else f"case:{key}"] = value
    for event in events:
        row = {child.get("key"): child.get("value") for child in event}
        if None in row or None in row.values():  # e.g. <list>, <container>: no value
            row = {key: value for key, value in row.items() if value is not None}
        row.update(case)
        rows.append(row)
    return case


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _frame(rows: list[dict[str, str]], trace_keys: list[str]) -> pd.DataFrame:
    seen: dict[str, None] = dict.fromkeys(STANDARD_COLUMNS)
    for row in rows:
        _note_keys(seen, row)
    return pd.DataFrame.from_records(rows, columns=_column_order(seen, trace_keys))


def _note_keys(seen: dict[str, None], row: dict[str, str]) -> None:
    """Add the keys of ``row`` that ``seen`` lacks, in their order."""
    if len(row) > len(seen) or not seen.keys() >= row.keys():
        seen.update(dict.fromkeys(row))


def _column_order(seen: dict[str, None], trace_keys: list[str]) -> list[str]:
    """The standard columns, then the event attributes, then the trace attributes,
    each in order of first appearance."""
    case_cols = [c for c in trace_keys if c != CASE_ID]
    event_cols = [c for c in seen if c not in STANDARD_COLUMNS and c not in trace_keys]
    return [*STANDARD_COLUMNS, *event_cols, *case_cols]


def _filter_lifecycle(frame: pd.DataFrame, keep: tuple[str, ...], path: Path) -> pd.DataFrame:
    transitions = frame[_LIFECYCLE].astype("string").str.lower()
    mask = transitions.isin([value.lower() for value in keep]).fillna(False).astype(bool)
    if not mask.any():
        present = sorted(frame[_LIFECYCLE].dropna().astype(str).unique())
        raise _none_kept(path, keep, present)
    return frame.loc[mask].reset_index(drop=True)


def cached_parquet(source: SourceSpec) -> Path:
    """The log as a Parquet file (:func:`xes_to_parquet`), converted once.

    The file lives in peakend's cache folder (:func:`~peakend.io.converted.converted_copy`),
    one per log and lifecycle filter, and is converted again when the log's size or
    modification time changes.
    """
    from peakend.io.converted import converted_copy

    lifecycle = sorted(value.lower() for value in source.lifecycle)
    return converted_copy(
        "xes",
        _existing_path(source),
        [lifecycle],
        _PARQUET_FORMAT,
        lambda target: xes_to_parquet(source, target),
    )


def xes_to_parquet(source: SourceSpec, target: Path, *, chunk_events: int = _CHUNK_EVENTS) -> int:
    """Write the events of the log to ``target`` as Parquet; return how many.

    The same rows and columns as :func:`read_xes` (every value the text written in
    the file; the lifecycle filter applied), streamed: at most ``chunk_events`` events
    (and the trace being read) are in memory at a time. Each chunk is written as a
    part file with the columns met so far; DuckDB joins the parts by column name into
    ``target`` and the parts are removed. Raises as :func:`read_xes` does.
    """
    import pyarrow as pa

    path = _log_with_bytes(source)
    keep = {value.lower() for value in source.lifecycle}
    seen: dict[str, None] = dict.fromkeys(STANDARD_COLUMNS)
    trace_keys: dict[str, None] = {}
    transitions: set[str] = set()
    rows: list[dict[str, str]] = []
    n_events = n_kept = n_traces = 0

    def write_chunk() -> None:
        nonlocal n_events, n_kept
        n_events += len(rows)
        kept = rows
        if keep:
            transitions.update(r[_LIFECYCLE] for r in rows if r.get(_LIFECYCLE) is not None)
            kept = [r for r in rows if (r.get(_LIFECYCLE) or "").lower() in keep]
        n_kept += len(kept)
        parts.write(pa.table({c: pa.array([r.get(c) for r in kept], pa.string()) for c in seen}))
        rows.clear()

    with PartFiles(target) as parts:
        with _open(path) as stream, _reading(path):
            for trace in _traces(stream, path):
                n_traces += 1
                first = len(rows)
                trace_keys.update(dict.fromkeys(_trace_rows(trace, rows)))
                for row in rows[first:]:
                    _note_keys(seen, row)
                if len(rows) >= chunk_events:
                    write_chunk()
        write_chunk()
        if not n_events:
            raise _no_events(path, n_traces)
        if keep and not n_kept:
            raise _none_kept(path, source.lifecycle, sorted(transitions))
        parts.join(_column_order(seen, list(trace_keys)))
    return n_kept
