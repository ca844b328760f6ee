"""Draft a dataset spec from a data file: what ``peakend init`` does.

:func:`draft_spec` reads a sample of the file through the same readers as
:func:`peakend.load` (so what it sees is what loading will see), recognises the
export shape of survey platforms (:mod:`peakend.io.platforms`), profiles every column
(:mod:`.columns`), decides the roles (:mod:`.draft`) and writes a TOML spec with
the evidence for each guess as a comment and a ``TODO`` where it cannot tell.
It samples the first rows, so it takes seconds on files of millions of rows.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from peakend.errors import ConfigError, InputMissingError
from peakend.io import read_source
from peakend.io.platforms import Platform, recognise
from peakend.io.sniff import is_excel_workbook, read_file_bytes, sniff_delimiter, sniff_encoding
from peakend.profile.draft import Guess, decide, decide_outcome_file, frame_profiles, render, slug
from peakend.spec import DatasetSpec, SourceSpec, parse_spec

__all__ = ["SAMPLE_ROWS", "SpecDraft", "draft_spec", "spec_path_for"]

SAMPLE_ROWS = 20_000
"""Rows profiled from the top of the file."""

_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xes": "xes",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
}


@dataclass(frozen=True)
class SpecDraft:
    """A drafted spec: its TOML text, the parsed spec, and what was recognised."""

    text: str
    spec: DatasetSpec
    platform: str | None
    layout: str
    todos: tuple[str, ...]
    rows_sampled: int


def spec_path_for(data: Path) -> Path:
    """Where ``peakend init`` writes by default: next to the file, ``NAME.toml``."""
    name = data.name
    for suffix in (".gz", ".zip"):
        name = name.removesuffix(suffix)
    return data.with_name(Path(name).stem + ".toml")


def draft_spec(
    path: str | Path,
    *,
    outcome_file: str | Path | None = None,
    out: str | Path | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> SpecDraft:
    """Draft a dataset spec for the file at ``path``.

    Parameters
    ----------
    path:
        The data file (CSV/TSV, Excel, JSON lines, Parquet, XES; gzip or zip allowed).
    outcome_file:
        A second file with outcomes per journey (NPS, churn …), matched on the
        journey id; it becomes ``[outcome_source]``.
    out:
        Where the spec will be written (its directory anchors the relative data
        path). Default: :func:`spec_path_for`.
    sample_rows:
        How many rows from the top of the file are profiled.

    Raises
    ------
    SourceError
        The file cannot be read.
    """
    data = Path(path).resolve()
    spec_file = Path(out).resolve() if out is not None else spec_path_for(data)
    fmt = _format(data)
    guess = Guess(name=slug(spec_path_for(data).stem))
    guess.source["path"] = os.path.relpath(data, spec_file.parent)
    if not _suffix_format(data):
        guess.source["format"] = fmt
        guess.source_notes["format"] = f"read from the file's content, not its name ({fmt})"
    platform, source = _source_options(data, fmt, guess)
    frame, bad = read_source(source, max_rows=sample_rows)
    guess.header = _header(data, platform, len(frame))
    profiles = frame_profiles(frame, bad.labels, decimal=source.decimal)
    decide(profiles, platform=platform, fmt=fmt, guess=guess)
    if outcome_file is not None:
        _add_outcome_file(Path(outcome_file).resolve(), spec_file, guess, sample_rows)
    _require_essentials(data, guess)
    text = render(guess)
    try:
        spec = parse_spec(tomllib.loads(text), base_dir=spec_file.parent, spec_path=spec_file)
    except (ConfigError, tomllib.TOMLDecodeError) as exc:  # a drafting bug, said plainly
        raise ConfigError(
            f"the spec drafted for {data.name} does not parse ({exc}); please report this "
            "with the file's header"
        ) from exc
    return SpecDraft(
        text=text,
        spec=spec,
        platform=platform.name if platform else None,
        layout=guess.layout,
        todos=tuple(guess.todos),
        rows_sampled=len(frame),
    )


def _require_essentials(data: Path, guess: Guess) -> None:
    """Refuse, with what to do, a file that gives no journey to analyse."""
    if guess.layout == "wide" and not guess.touchpoints:
        found = f" (it has outcome columns: {', '.join(guess.outcomes)})" if guess.outcomes else ""
        raise InputMissingError(
            f"{data.name} has no score column (whole numbers on a 1-5, 1-7, 1-10 or 0-10 "
            f"scale){found}, so there are no touchpoints to analyse. A table of customers "
            f"with outcomes is an outcome file: peakend init EVENTS_FILE {data.name}"
        )
    if guess.layout == "long" and "touchpoint" not in guess.columns:
        raise InputMissingError(
            f"{data.name}: the journey id {guess.columns.get('journey_id')!r} repeats, so "
            "rows are events, but no column looks like the touchpoint (a text column with "
            "a few repeated values such as 'order', 'delivery'). Write the spec by hand "
            '(docs/dataset-spec.md) with touchpoint = "COLUMN" in [columns]'
        )


def _add_outcome_file(data: Path, spec_file: Path, guess: Guess, sample_rows: int) -> None:
    side = Guess(name=guess.name)
    fmt = _format(data)
    side.source["path"] = os.path.relpath(data, spec_file.parent)
    if not _suffix_format(data):
        side.source["format"] = fmt
    _, source = _source_options(data, fmt, side)
    frame, bad = read_source(source, max_rows=sample_rows)
    guess.outcome_source.update(side.source)
    guess.outcome_source_notes.update(side.source_notes)
    profiles = frame_profiles(frame, bad.labels, decimal=source.decimal)
    decide_outcome_file(profiles, guess)


def _suffix_format(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".zip")]
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def _format(path: Path) -> str:
    """The format from the content (a misnamed file is read as what it is)."""
    head = read_file_bytes(path, limit=65_536)
    if head.startswith(b"PK\x03\x04"):
        head = read_file_bytes(path)  # a zip: Excel, or an archive holding the data
    if is_excel_workbook(head) or head.startswith(b"\xd0\xcf\x11\xe0"):
        return "excel"
    if head.startswith(b"PAR1"):
        return "parquet"
    start = head[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith((b"<?xml", b"<log")) and b"<log" in head[:4096]:
        return "xes"
    if start.startswith(b"{"):
        return "jsonl"
    return "csv"


def _source_options(data: Path, fmt: str, guess: Guess) -> tuple[Platform | None, SourceSpec]:
    """Reader options: delimiter, encoding, decimal, the platform's header rows."""
    options: dict[str, object] = {}
    if fmt == "csv":
        raw = read_file_bytes(data, limit=2_000_000)
        raw = raw[: raw.rfind(b"\n") + 1] or raw  # whole lines: no character cut in two
        encoding, note = sniff_encoding(raw)
        if note:
            options["encoding"] = encoding
            guess.source_notes["encoding"] = note.split(";")[0]
        text = raw[:200_000].decode(encoding, errors="replace").removeprefix("\ufeff")
        delimiter, found = sniff_delimiter(text)
        if found:
            options["delimiter"] = delimiter
            guess.source_notes["delimiter"] = "found in the header"
        if delimiter == ";" and _decimal_commas(text):
            options["decimal"] = ","
            guess.source_notes["decimal"] = "numbers are written with a decimal comma"
    if fmt == "excel":
        _pick_sheet(data, options, guess)
    probe = SourceSpec(format=fmt, path=data, **options)  # type: ignore[arg-type]
    first, _ = read_source(probe, max_rows=3)
    rows = [[str(c) for c in first.columns]] + [
        ["" if v is None or str(v) == "<NA>" else str(v) for v in row]
        for row in first.itertuples(index=False)
    ]
    platform = recognise(rows) if fmt in ("csv", "excel") else None
    if platform is not None and platform.header_rows > 1:
        options["header_rows"] = platform.header_rows
        guess.source_notes["header_rows"] = (
            f"{platform.name}: column names, then {platform.header_rows - 1} row(s) of "
            "question texts, kept as labels"
        )
    guess.source.update(options)
    return platform, SourceSpec(format=fmt, path=data, **options)  # type: ignore[arg-type]


def _pick_sheet(data: Path, options: dict[str, object], guess: Guess) -> None:
    """The sheet with the most rows, when that is not the first one."""
    import io

    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(read_file_bytes(data)))
    names = list(book.sheet_names)
    heights = [book.get_sheet_by_name(n).height for n in names]
    best = max(range(len(names)), key=lambda i: heights[i])
    if best != 0:
        options["sheet"] = names[best]
        others = ", ".join(f"{n!r} ({h} rows)" for n, h in zip(names, heights, strict=True))
        guess.source_notes["sheet"] = f"the sheet with the most rows; sheets: {others}"


def _decimal_commas(text: str) -> bool:
    import re

    return bool(re.search(r"(^|;)\"?-?\d+,\d+\"?(;|\r?$)", text, re.MULTILINE))


def _header(data: Path, platform: Platform | None, n: int) -> list[str]:
    lines = [
        f"Dataset spec drafted by `peakend init` from {data.name} ({n:,} rows profiled).",
        "Each guess says why in a comment; check them, then run: peakend validate THIS_FILE",
    ]
    if platform is not None:
        lines.append(f"Recognised a {platform.name} export: {platform.evidence}.")
    return lines
