"""The dataset cache: a loaded, validated dataset kept as canonical Parquet.

Loading and validating a large event log costs far more than analysing it, and
most sources do not change between two commands. ``peakend validate SPEC --cache
DIR`` (or ``[cache] dir = "..."`` in the spec, or ``peakend.load(spec,
cache=DIR)``) writes the result once::

    DIR/events.parquet       canonical events (peakend.schema.EVENT_SCHEMA)
    DIR/outcomes.parquet     one row per journey
    DIR/touchpoints.parquet  the catalogue
    DIR/quarantine.parquet   every row set aside, with its reason
    DIR/report.json          the validation report (counts, problems, fixes)
    DIR/key.json             what the cache was made from; written last

Later loads read it back without re-validating while the key still matches:
the size and modification time of every source file (for a PostgreSQL table or
query, the server's position in its write-ahead log, which any write moves on), a
hash of the spec's content and peakend's version. Any change (or a damaged cache)
re-validates the sources and rewrites the cache, and says why in one line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import peakend
from peakend.errors import ConfigError
from peakend.io.sniff import is_pattern
from peakend.load import Dataset, as_events
from peakend.load import load as load_sources
from peakend.spec import DatasetSpec, SourceSpec, SparkSpec, read_spec
from peakend.validate import Problem, Reason, Severity, ValidationReport

FORMAT = 1
KEY_FILE = "key.json"
REPORT_FILE = "report.json"
TABLES = ("events", "outcomes", "touchpoints", "quarantine")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedLoad:
    """A dataset and how it was obtained.

    ``hit`` is True when it was read from the cache without re-validating;
    ``message`` says so, or why the cache was (re)written, in one line.
    """

    dataset: Dataset
    hit: bool
    message: str


def load_cached(
    spec: DatasetSpec | str | Path, directory: str | Path, *, strict: bool | None = None
) -> CachedLoad:
    """Load the dataset ``spec`` describes through the cache in ``directory``.

    Reads the cache when its key matches the sources and the spec; otherwise
    loads and validates the sources and (re)writes the cache. Strict mode is
    applied to the report either way, so a cached dataset with bad rows fails
    in strict mode exactly as a fresh load does.

    Raises :class:`~peakend.errors.ConfigError` when ``directory`` is a file or a
    source is neither a file nor a PostgreSQL table or query (a path on a cluster).
    """
    if not isinstance(spec, DatasetSpec):
        spec = read_spec(spec)
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"cache {folder} is a file, not a folder: give a folder for the cache")
    key = cache_key(spec)
    stored, why = _stored_key(folder)
    dataset: Dataset | None = None
    if stored is not None:
        difference = _difference(stored, key)
        why = difference or ""
        if difference is None:
            try:
                dataset = _read(folder, spec, stored)
            except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
                why = f"is damaged ({_first_line(exc)})"
    if dataset is not None:
        message = f"read {spec.name} from cache {folder}: sources and spec unchanged"
        hit = True
    else:
        fresh = load_sources(dataclasses.replace(spec, cache_dir=None), strict=False)
        fresh.spec = spec  # (not dataclasses.replace: that would read the events into memory)
        dataset = fresh
        _write(folder, dataset, key)
        message = f"cache {folder} {why}; validated the sources and wrote the cache"
        hit = False
    log.info(message)
    dataset.report.raise_if_strict(spec.strict if strict is None else strict)
    return CachedLoad(dataset, hit, message)


def cache_key(spec: DatasetSpec) -> dict[str, Any]:
    """What a cache depends on: peakend's version, the spec's content, each source file's
    size and modification time."""
    content = dataclasses.replace(
        spec, cache_dir=None, spec_path=None, strict=False, spark=SparkSpec()
    )
    return {
        "format": FORMAT,
        "peakend": peakend.__version__,
        "spec": hashlib.sha256(repr(content).encode()).hexdigest(),
        "sources": _source_stamps(spec),
    }


def _source_stamps(spec: DatasetSpec) -> list[dict[str, Any]]:
    """A stamp per source file, and one per PostgreSQL source (:func:`_postgres_stamp`)."""
    stamps: list[dict[str, Any]] = []
    for source in (spec.source, spec.outcome_source):
        if source is None:
            continue
        if source.format == "postgres":
            stamps.append(_postgres_stamp(source))
        else:
            stamps += [_stamp(path) for path in _files_of(source)]
    return stamps


def _postgres_stamp(source: SourceSpec) -> dict[str, Any]:
    """A PostgreSQL table or query, keyed by the server's position in its write-ahead
    log (:func:`~peakend.io.database.postgres_position`): it moves on with every write."""
    from peakend.io.database import postgres_identity, postgres_position

    name = source.table or "query"
    return {"path": postgres_identity(source), "name": name, "wal": postgres_position(source)}


def _files_of(source: SourceSpec) -> list[Path]:
    if source.path is None:
        raise ConfigError(
            f"the cache needs sources that are files or PostgreSQL tables; {source.label} "
            "is neither: remove [cache] from the spec (or --cache)"
        )
    path = source.path
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if is_pattern(path.name):
        return sorted(p for p in path.parent.glob(path.name) if p.is_file())
    return [path]


def _stamp(path: Path) -> dict[str, Any]:
    try:
        info = path.stat()
    except OSError:
        return {"path": str(path), "size": None, "mtime_ns": None}
    return {"path": str(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _stored_key(folder: Path) -> tuple[dict[str, Any] | None, str]:
    """The key a cache was written with, or None and why there is none."""
    path = folder / KEY_FILE
    if not path.exists():
        return None, "is empty" if folder.exists() else "does not exist yet"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"is damaged ({KEY_FILE}: {_first_line(exc)})"
    if not isinstance(stored, dict):
        return None, f"is damaged ({KEY_FILE} is not a JSON object)"
    return stored, ""


def _difference(stored: dict[str, Any], key: dict[str, Any]) -> str | None:
    """Why a stored key does not match (one phrase), or None when it does."""
    if stored.get("format") != key["format"] or stored.get("peakend") != key["peakend"]:
        return f"was written by peakend {stored.get('peakend')} (this is {key['peakend']})"
    if stored.get("spec") != key["spec"]:
        return "is out of date: the spec changed"
    old = {s["path"]: s for s in stored.get("sources", []) if isinstance(s, dict) and "path" in s}
    for source in key["sources"]:
        before = old.pop(source["path"], None)
        if before != source:
            what = "is new" if before is None else _change(source)
            return f"is out of date: source {_name(source)} {what}"
    if old:
        return f"is out of date: source {_name(next(iter(old.values())))} is gone"
    return None


def _name(stamp: dict[str, Any]) -> str:
    return str(stamp.get("name") or Path(stamp["path"]).name)


def _change(stamp: dict[str, Any]) -> str:
    if "wal" in stamp:
        return "may have changed (the PostgreSQL server has been written to since)"
    return "changed (size or modification time)"


def _write(folder: Path, dataset: Dataset, key: dict[str, Any]) -> None:
    """Write the tables and the report, then the key: no key, no cache."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KEY_FILE).unlink(missing_ok=True)
    tables = {
        "outcomes": dataset.outcomes,
        "touchpoints": dataset.touchpoints,
        "quarantine": pa.Table.from_pandas(dataset.quarantine, preserve_index=False),
    }
    rows = {"events": dataset.n_events}
    source = dataset.event_source
    if source is not None:  # straight from where the loader left them: no Arrow copy
        staged = folder / f"events.parquet.{os.getpid()}"
        source.write_parquet(staged)
        staged.replace(folder / "events.parquet")
    else:
        _write_table(dataset.events, folder / "events.parquet")
    for name, table in tables.items():
        _write_table(table, folder / f"{name}.parquet")
        rows[name] = table.num_rows
    report = json.dumps(_report_dict(dataset.report), ensure_ascii=False, indent=1)
    (folder / REPORT_FILE).write_text(report, encoding="utf-8")
    staged = folder / f"{KEY_FILE}.{os.getpid()}"
    staged.write_text(json.dumps({**key, "rows": rows}, indent=1), encoding="utf-8")
    staged.replace(folder / KEY_FILE)


def _write_table(table: pa.Table, path: Path) -> None:
    staged = path.with_name(f"{path.name}.{os.getpid()}")
    pq.write_table(table, staged)
    staged.replace(path)


def _read(folder: Path, spec: DatasetSpec, key: dict[str, Any]) -> Dataset:
    """The cached dataset; raises when a file is missing, unreadable or of the wrong size."""
    from peakend.loading.events import EventSource

    tables = {name: pq.read_table(folder / f"{name}.parquet") for name in TABLES[1:]}
    rows = {name: table.num_rows for name, table in tables.items()}
    # the events stay in their file, read in place by the engine (metadata only here)
    rows["events"] = pq.ParquetFile(folder / "events.parquet").metadata.num_rows
    for name, n_rows in rows.items():
        if n_rows != key["rows"][name]:
            raise ValueError(f"{name}.parquet has {n_rows} rows, not {key['rows'][name]}")
    report = _report_from_dict(json.loads((folder / REPORT_FILE).read_text(encoding="utf-8")))
    quarantine: pd.DataFrame = tables["quarantine"].to_pandas()
    return Dataset(
        spec=spec,
        events=as_events(
            EventSource.from_parquet(folder / "events.parquet", n_rows=rows["events"])
        ),
        outcomes=tables["outcomes"],
        touchpoints=tables["touchpoints"],
        quarantine=quarantine,
        report=report,
    )


def _report_dict(report: ValidationReport) -> dict[str, Any]:
    return {
        "rows_read": report.rows_read,
        "events_loaded": report.events_loaded,
        "journeys": report.journeys,
        "quarantined_rows": report.quarantined_rows,
        "loader": report.loader,
        "problems": [
            {**dataclasses.asdict(p), "reason": str(p.reason), "severity": str(p.severity)}
            for p in report.problems
        ],
    }


def _report_from_dict(raw: dict[str, Any]) -> ValidationReport:
    problems = [
        Problem(
            reason=Reason(p["reason"]),
            severity=Severity(p["severity"]),
            source=p["source"],
            column=p["column"],
            count=p["count"],
            rows=tuple(p["rows"]),
            example=p["example"],
            fix=p["fix"],
        )
        for p in raw["problems"]
    ]
    return ValidationReport(
        rows_read=raw["rows_read"],
        events_loaded=raw["events_loaded"],
        journeys=raw["journeys"],
        quarantined_rows=raw["quarantined_rows"],
        problems=problems,
        # the loader that validated the data when the cache was written
        loader=raw.get("loader", "pandas"),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
