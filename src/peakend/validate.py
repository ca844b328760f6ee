"""Validation: every problem found in the data, where it is, and how to fix it.

Checks are vectorised column operations on the raw frame. A check never drops a
row on its own: it returns a boolean mask of failing rows, and the loader moves
those rows to the **quarantine** table with their reason, so nothing is lost
and the summary can say how many rows were set aside and why. In strict mode
(``[validation] strict = true`` or ``--strict``) any error-level problem raises
:class:`~peakend.errors.SchemaError` instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from peakend.distinct import on_distinct
from peakend.errors import SchemaError

ROW = "__row__"
"""Name of the column that carries the 1-based data row number of the source."""

MAX_ROWS_SHOWN = 5


class Reason(StrEnum):
    """Stable codes for every kind of problem (used in JSON and the quarantine)."""

    MISSING_COLUMN = "missing_column"
    UNKNOWN_COLUMN = "unknown_column"
    MISSING_VALUE = "missing_value"
    BAD_TIMESTAMP = "bad_timestamp"
    TIMEZONE_ASSUMED = "timezone_assumed"
    MIXED_TIMEZONES = "mixed_timezones"
    BAD_SCORE = "bad_score"
    SCORE_OUT_OF_SCALE = "score_out_of_scale"
    NOT_APPLICABLE = "not_applicable"
    BAD_VALUE = "bad_value"
    DUPLICATE_EVENT = "duplicate_event"
    DUPLICATE_JOURNEY = "duplicate_journey"
    NO_OUTCOME = "no_outcome"
    BAD_OUTCOME = "bad_outcome"
    OUTCOME_WITHOUT_EVENTS = "outcome_without_events"
    BAD_ENCODING = "bad_encoding"
    UNKNOWN_TOUCHPOINT = "unknown_touchpoint"
    FORMAT_DETECTED = "format_detected"


class Severity(StrEnum):
    """``error``: rows were quarantined; ``warning``: an assumption was made; ``info``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Problem:
    """One kind of problem in one column of one source, with where and how to fix it."""

    reason: Reason
    severity: Severity
    source: str
    column: str | None
    count: int
    rows: tuple[int, ...] = ()
    example: str | None = None
    fix: str = ""

    def message(self) -> str:
        """One readable sentence: what, where, an example, and the fix."""
        where = self.source + (f", column {self.column!r}" if self.column else "")
        text = f"{where}: {self.count:,} {_DESCRIPTIONS[self.reason]}"
        if self.reason is Reason.MISSING_VALUE and self.severity is Severity.ERROR:
            # An empty time only warns (the row is kept); an empty id sets the row aside.
            text += ", quarantined"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = " …" if self.count > len(self.rows) else ""
            text += f" (row {shown}{more})"
        if self.example is not None:
            text += f"; e.g. {self.example!r}"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form (``reason`` and ``severity`` as their codes)."""
        return {
            "reason": str(self.reason),
            "severity": str(self.severity),
            "source": self.source,
            "column": self.column,
            "count": self.count,
            "rows": list(self.rows),
            "example": self.example,
            "fix": self.fix,
            "message": self.message(),
        }


_DESCRIPTIONS: dict[Reason, str] = {
    Reason.MISSING_COLUMN: "required column(s) missing",
    Reason.UNKNOWN_COLUMN: "column(s) not mapped by the spec and ignored",
    Reason.MISSING_VALUE: "row(s) with an empty value",
    Reason.BAD_TIMESTAMP: "timestamp(s) that cannot be parsed, quarantined",
    Reason.TIMEZONE_ASSUMED: "timestamp(s) without a UTC offset, read in the declared zone",
    Reason.MIXED_TIMEZONES: "timestamp(s) without offset among values with one",
    Reason.BAD_SCORE: "score(s) that are not numbers, quarantined",
    Reason.SCORE_OUT_OF_SCALE: "score(s) outside the declared scale, quarantined",
    Reason.NOT_APPLICABLE: "not-applicable answer(s), kept as unscored events",
    Reason.BAD_VALUE: "value(s) not among the allowed ones, quarantined",
    Reason.DUPLICATE_EVENT: "duplicate event(s) (same journey, touchpoint, time), quarantined",
    Reason.DUPLICATE_JOURNEY: "repeated journey row(s), quarantined",
    Reason.NO_OUTCOME: "journey(s) without an outcome, kept but left out of outcome models",
    Reason.BAD_OUTCOME: "outcome value(s) that cannot be read, set to missing",
    Reason.OUTCOME_WITHOUT_EVENTS: "outcome row(s) for journeys without events",
    Reason.BAD_ENCODING: "row(s) with bytes invalid in the declared encoding, quarantined",
    Reason.UNKNOWN_TOUCHPOINT: "event(s) at touchpoints missing from the catalogue",
    Reason.FORMAT_DETECTED: "assumption about how the file is written",
}


@dataclass
class ValidationReport:
    """What loading found: row counts, every problem, every assumption made."""

    rows_read: int = 0
    events_loaded: int = 0
    journeys: int = 0
    quarantined_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Which loader read the data: ``duckdb`` (checks as queries where the data are)
    #: or ``pandas`` (every other source), and why when it is not the first choice.
    loader: str = "pandas"

    @property
    def errors(self) -> list[Problem]:
        """Problems that made rows go to quarantine."""
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        """True when no row had to be quarantined."""
        return not self.errors

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "ok": self.ok,
            "rows_read": self.rows_read,
            "events_loaded": self.events_loaded,
            "journeys": self.journeys,
            "quarantined_rows": self.quarantined_rows,
            "loader": self.loader,
            "problems": [p.to_dict() for p in self.problems],
        }

    def raise_if_strict(self, strict: bool) -> None:
        """In strict mode, raise :class:`SchemaError` listing every error-level problem."""
        if strict and self.errors:
            lines = "\n".join(f"- {p.message()}" for p in self.errors)
            raise SchemaError(
                f"{len(self.errors)} data problem(s) in strict mode:\n{lines}", self.errors
            )


class Quarantine:
    """Collects failing rows with their reason; turns them into one table."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(
        self,
        frame: pd.DataFrame,
        mask: pd.Series,
        *,
        source: str,
        reason: Reason,
        column: str | None,
        message: str,
    ) -> None:
        """Set aside the rows of ``frame`` where ``mask`` is true."""
        bad = frame.loc[_true_index(mask)]
        if bad.empty:
            return
        records = bad.drop(columns=[ROW]).to_dict(orient="records")
        self._parts.append(
            pd.DataFrame(
                {
                    "source": source,
                    "row": bad[ROW].to_numpy(),
                    "column": column,
                    "reason": str(reason),
                    "message": message,
                    "value": bad[column].astype("string").to_numpy()
                    if column and column in bad
                    else None,
                    "record": [json.dumps(r, default=str, ensure_ascii=False) for r in records],
                }
            )
        )

    def table(self) -> pd.DataFrame:
        """Every quarantined row, one line per (row, reason)."""
        columns = ["source", "row", "column", "reason", "message", "value", "record"]
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
        return pd.concat(self._parts, ignore_index=True)[columns]

    @property
    def n_rows(self) -> int:
        """Number of distinct source rows set aside."""
        if not self._parts:
            return 0
        table = self.table()
        return int(table[["source", "row"]].drop_duplicates().shape[0])


def problem_from_mask(
    frame: pd.DataFrame,
    mask: pd.Series,
    *,
    reason: Reason,
    severity: Severity,
    source: str,
    column: str | None,
    fix: str,
) -> Problem | None:
    """Summarise the failing rows of one check as a :class:`Problem` (None if none fail)."""
    index = _true_index(mask)
    count = len(index)
    if count == 0:
        return None
    bad = frame.loc[index]
    rows = tuple(int(r) for r in bad[ROW].head(MAX_ROWS_SHOWN))
    example = None
    if column is not None and column in bad:
        first = bad[column].iloc[0]
        example = None if _is_missing(first) else str(first)
    return Problem(reason, severity, source, column, count, rows, example, fix)


def _true_index(mask: pd.Series) -> pd.Index:
    """Index labels where ``mask`` is true (missing counts as false)."""
    return mask.index[mask.fillna(False).to_numpy(dtype=bool)]


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


# An offset only counts after a time of day: "2024-03-01" and "31-03-2024" end in
# "-01"/"-2024" but are dates, to be read in the declared zone. "UTC" and "GMT" after
# the time are offsets too (BigQuery writes "2024-05-04 09:58:53 UTC").
_OFFSET = re.compile(
    r"[T\s]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$",
    re.IGNORECASE,
)

_UTC_NAME = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)
"""A zone named ``UTC`` or ``GMT`` after the time, read as the offset ``+00:00``."""

SQL_TIME = re.compile(
    r"^[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}"
    r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"|[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)? ?"
    r"(?:Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?))?$",
    re.IGNORECASE,
)
"""The times the SQL loaders read from text themselves: a date of four-digit year,
month and day, a time of day, an offset after a time with a two-digit hour (where
:data:`_OFFSET` sees it); ASCII digits and one space, as both Python's and DuckDB's
regular expressions read them. Their casts are more lenient than the pandas reader
(DuckDB reads a tab for a digit, a three-digit year and ``infinity``, and drops a
zone name such as ``Europe/Amsterdam`` after the time), so any other text is left
to :func:`parse_timestamps`, and the load to the pandas loader if it reads what
the SQL did not."""


@dataclass
class ParsedTimestamps:
    """UTC instants plus masks of what had to be assumed or could not be read."""

    values: pd.Series
    unparsable: pd.Series
    naive: pd.Series
    had_offset: pd.Series


def parse_timestamps(raw: pd.Series, *, timezone: str, fmt: str | None) -> ParsedTimestamps:
    """Parse timestamps to UTC.

    Values with an offset (``Z``, ``+02:00``) are exact instants. Values without
    one are read as local time in ``timezone``; a local time that does not exist
    or is ambiguous at a daylight-saving change counts as unparsable, since
    guessing would put the event an hour off.
    """
    present = raw.notna()
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        values = raw.dt.tz_convert("UTC")
        false = pd.Series(False, index=raw.index)
        return ParsedTimestamps(values, false, false, present)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        local = raw.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        values = local.dt.tz_convert("UTC")
        unparsable = present & values.isna()
        return ParsedTimestamps(values, unparsable, present & ~unparsable, present & False)
    text = raw.astype("string").str.strip()
    had_offset = text.str.contains(_OFFSET, na=False) & present
    values = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    kwargs: dict[str, object] = {"format": fmt} if fmt else {"format": "ISO8601"}
    if had_offset.any():
        exact = text[had_offset]
        if fmt is None:  # (a declared format says how its zone is written)
            exact = exact.str.replace(_UTC_NAME, "+00:00", regex=True)
        parsed = _to_datetime(exact, utc=True, **kwargs)
        values.loc[had_offset] = parsed.dt.tz_convert("UTC")
    naive = present & ~had_offset
    if naive.any():
        # Read as UTC and the zone dropped: the wall time as written. (Read without a
        # zone, a column where the reader finds an offset _OFFSET does not, such as
        # "09:58:5.+00", beside values without one came back as objects, or, in
        # later pandas, raises; such a value is its instant's UTC wall time here.)
        parsed = _to_datetime(text[naive], utc=True, **kwargs).dt.tz_localize(None)
        local = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        values.loc[naive] = local.dt.tz_convert("UTC")
    unparsable = present & values.isna()
    return ParsedTimestamps(values, unparsable, naive & ~unparsable, had_offset & ~unparsable)


def _to_datetime(text: pd.Series, *, utc: bool, **kwargs: object) -> pd.Series:
    try:
        result = pd.to_datetime(text, errors="coerce", utc=utc, **kwargs)  # type: ignore[call-overload]
    except (ValueError, TypeError):
        # Mixed formats: fall back to element-wise parsing of what pandas can read.
        result = pd.to_datetime(text, errors="coerce", utc=utc, format="mixed")
    return pd.Series(result, index=text.index)


def parse_numbers(raw: pd.Series, *, decimal: str) -> tuple[pd.Series, pd.Series]:
    """Parse numbers (decimal comma allowed); returns values and a mask of unreadable ones."""
    present = raw.notna()
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("float64"), present & False
    values = on_distinct(raw, lambda cells: _numbers(cells, decimal))
    return values, present & values.isna()


def _numbers(raw: pd.Series, decimal: str) -> pd.Series:
    text = raw.astype("string").str.strip()
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")
