"""Loading: from a dataset spec to validated canonical tables.

:func:`load` reads the source(s) a spec names, maps columns onto the data model
(:mod:`peakend.schema`), turns wide survey exports into long events in the
declared touchpoint order, parses and checks every value (:mod:`peakend.validate`),
and returns a :class:`Dataset`: events, outcomes, the touchpoint catalogue, the
quarantine of rows that failed, and a report of every problem and assumption.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from peakend.derive import add_derived_columns, did_you_mean, source_columns
from peakend.distinct import on_distinct
from peakend.errors import ConfigError, DataError, MissingColumnError
from peakend.io import BadRows, read_source
from peakend.io.platforms import recognise
from peakend.schema import (
    EVENT_SCHEMA,
    INITIATORS,
    TOUCHPOINT_SCHEMA,
    Outcome,
    Scale,
    Touchpoint,
)
from peakend.spec import DatasetSpec, read_spec
from peakend.validate import (
    ROW,
    Problem,
    Quarantine,
    Reason,
    Severity,
    ValidationReport,
    parse_numbers,
    parse_timestamps,
    problem_from_mask,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from peakend.loading.events import EventSource

REPEATED_RESPONDENT_FIX = "each respondent must appear once; the first row is kept"
"""The fix for a wide export's later rows of a respondent (both loaders say it)."""
MISSING_RESPONDENT_FIX = "give every respondent an id"
"""The fix for a wide export's rows without a respondent id (both loaders say it)."""
WIDE_COMMENT = "comment"
"""Touchpoint of a journey-level comment in a wide layout (``[columns] text``), placed last."""

_XES_DEFAULTS = {
    "journey_id": "case:concept:name",
    "touchpoint": "concept:name",
    "ts": "time:timestamp",
}


_READING = threading.Lock()


class _Events:
    """The ``events`` field of :class:`Dataset`: an Arrow table, read on first use
    when the loader left the events on their DuckDB connection (an
    :class:`~peakend.loading.events.EventSource`)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, dataset: Dataset | None, owner: type | None = None) -> pa.Table:
        if dataset is None:
            raise AttributeError("events")  # a required field: no class-level default
        value = getattr(dataset, self.slot)
        if isinstance(value, pa.Table):
            return value
        # Two report sections may ask at once (they run on two threads): the first
        # reads the events and closes the connection, the second gets its table.
        with _READING:
            value = getattr(dataset, self.slot)
            if isinstance(value, pa.Table):
                return value
            table = value.to_arrow()
            value.close()
            setattr(dataset, self.slot, table)
            return table

    def __set__(self, dataset: Dataset, value: pa.Table | EventSource) -> None:
        setattr(dataset, self.slot, value)


def as_events(source: EventSource) -> pa.Table:
    """``source`` typed as the ``events`` field it is stored in (read on first use)."""
    return cast("pa.Table", source)


@dataclass
class Dataset:
    """A loaded, validated dataset in the canonical model.

    Attributes
    ----------
    spec:
        The dataset spec it was loaded from.
    events:
        Canonical events (:data:`peakend.schema.EVENT_SCHEMA`), one row per event,
        ordered by journey, time and sequence. A dataset loaded through DuckDB
        keeps them on its connection until first read here (see
        :attr:`event_source`); the engine runs on them there.
    outcomes:
        One row per journey that has an outcome or attribute: ``journey_id``, one
        float column per declared outcome (binary as 0/1), and the declared
        attribute columns as text.
    touchpoints:
        The catalogue (:data:`peakend.schema.TOUCHPOINT_SCHEMA`), declared entries
        first, then touchpoints seen in the data but not declared.
    quarantine:
        Every row set aside, one line per (row, reason), with the raw record.
    report:
        Counts, problems and assumptions.
    """

    spec: DatasetSpec
    if TYPE_CHECKING:
        # What callers see; the descriptor below also accepts an EventSource, which
        # the two loaders that leave events in DuckDB pass (see ``as_events``).
        events: pa.Table
    else:
        events: _Events = _Events()
    outcomes: pa.Table
    touchpoints: pa.Table
    quarantine: pd.DataFrame
    report: ValidationReport

    @property
    def event_source(self) -> EventSource | None:
        """The events where they were loaded, while not yet read into memory (else None)."""
        value = getattr(self, "_events", None)
        return None if value is None or isinstance(value, pa.Table) else value

    @property
    def n_events(self) -> int:
        """Number of events, without reading them into memory."""
        source = self.event_source
        return source.n_rows if source is not None else self.events.num_rows

    @property
    def outcome_names(self) -> list[str]:
        """Names of the declared outcomes, in spec order."""
        return [o.name for o in self.spec.outcomes]

    def choose_outcome(self, outcome: str | None) -> str | None:
        """``outcome`` if the spec declares it, else the first declared one (None if none).

        Raises :class:`~peakend.errors.ConfigError` for a name the spec does not declare.
        """
        names = self.outcome_names
        if outcome is not None and outcome not in names:
            declared = ", ".join(names) or "none declared"
            raise ConfigError(f"unknown outcome {outcome!r}; the spec declares: {declared}")
        return outcome or (names[0] if names else None)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.spec.name!r}: {self.report.events_loaded:,} events in "
            f"{self.report.journeys:,} journeys, {self.report.quarantined_rows:,} rows quarantined)"
        )


def load(
    spec: DatasetSpec | str | Path,
    *,
    strict: bool | None = None,
    cache: str | Path | None = None,
    backend: str | None = None,
) -> Dataset:
    """Load and validate the dataset a spec describes.

    Parameters
    ----------
    spec:
        A :class:`~peakend.spec.DatasetSpec` or the path of a spec TOML file.
    strict:
        Raise instead of quarantining bad rows. Defaults to the spec's
        ``[validation] strict``.

    Raises
    ------
    ConfigError
        The spec is wrong (e.g. scores without a declared scale), or describes a
        per-customer snapshot, which has no events.
    MissingColumnError
        Columns the spec maps are not in the source (all are listed).
    SourceError
        A file or database cannot be read.
    SchemaError
        In strict mode, when any row fails validation.

    With ``cache`` (a folder; default the spec's ``[cache] dir``) the validated
    dataset is kept as Parquet and re-read while the sources and the spec are
    unchanged (:mod:`peakend.cache`).

    ``backend`` (default ``$PEAKEND_BACKEND``, else ``duckdb``) chooses where the
    checks run and the events stay: ``duckdb`` in this process, ``spark`` on a
    Spark session (:mod:`peakend.loading.spark`, docs/scale.md).

    Examples
    --------
    >>> from peakend.datasets import demo_spec_path
    >>> data = load(demo_spec_path())
    >>> data.report.ok
    True
    """
    if not isinstance(spec, DatasetSpec):
        spec = read_spec(spec)
    if spec.snapshot:
        raise ConfigError(
            f"{spec.spec_path or spec.name} describes a per-customer snapshot (snapshot = "
            "true): one row per customer and no events, so there are no journeys to load. "
            "The churn and recovery analyses read it: run `peakend churn SPEC` or "
            "`peakend recovery SPEC` (in Python, churn_drivers(spec) or service_recovery(spec))"
        )
    from peakend.loading import wanted_backend

    backend = wanted_backend(backend)
    remote = [s.uri for s in (spec.source, spec.outcome_source) if s is not None and s.uri]
    if remote and backend != "spark":
        from peakend.io import remote_only

        raise ConfigError(f"{spec.name}: {remote_only(remote[0])}")
    # --- dataset cache hook (peakend.cache) ---
    directory = cache if cache is not None else spec.cache_dir
    if directory is not None and backend == "spark":
        raise ConfigError(
            "the dataset cache is written with DuckDB: drop --cache (or the spec's [cache]) "
            "to load on Spark, or drop --backend spark"
        )
    if directory is not None:
        from peakend.cache import load_cached

        return load_cached(spec, directory, strict=strict).dataset
    # --- end of cache hook ---
    strict = spec.strict if strict is None else strict
    from peakend.loading import run_loader

    dataset = run_loader(spec, backend=backend)
    dataset.report.raise_if_strict(strict)
    return dataset


class _Loader:
    """One load: keeps the spec, the report and the quarantine while steps run."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.report = ValidationReport()
        self.quarantine = Quarantine()
        self.label = _short_path(spec.source.label)
        self.columns = dict(spec.columns)
        if spec.source.format == "xes":
            self.columns = {**_XES_DEFAULTS, **self.columns}

    def run(self) -> Dataset:
        raw, bad = read_source(self.spec.source)
        self.report.rows_read = len(raw)
        raw = raw.reset_index(drop=True)
        raw.insert(0, ROW, np.arange(1, len(raw) + 1, dtype=np.int64))
        self._note_reading(bad)
        self._check_export_shape(raw)
        self._check_columns(raw)
        add_derived_columns(raw, self.spec, self.columns)
        raw = self._drop_badly_encoded(raw, bad)
        if self.spec.layout == "wide":
            raw = self._drop_repeated_journeys(raw)
            events = self._events_from_wide(raw)
        else:
            events = self._events_from_long(raw)
        events = self._drop_duplicates(events)
        outcomes = self._outcomes(raw, events)
        self._check_catalogue(events)
        self.report.events_loaded = len(events)
        self.report.journeys = int(events["journey_id"].nunique())
        self.report.quarantined_rows = self.quarantine.n_rows
        return Dataset(
            spec=self.spec,
            events=_to_event_table(events),
            outcomes=pa.Table.from_pandas(outcomes, preserve_index=False),
            touchpoints=self._catalogue(events),
            quarantine=self.quarantine.table(),
            report=self.report,
        )

    # -- columns -------------------------------------------------------------

    def _check_export_shape(self, raw: pd.DataFrame) -> None:
        """A survey export read with one header row turns its extra header rows into
        junk rows with a problem in every column; say the one change that fixes it."""
        source = self.spec.source
        if source.format not in ("csv", "excel") or source.header_rows != 1:
            return
        head = raw.iloc[:2, 1:].astype("string").fillna("")  # column 0 is the row number
        rows = [[str(c) for c in head.columns], *head.values.tolist()]
        platform = recognise(rows)
        if platform is not None and platform.header_rows > 1:
            raise ConfigError(
                f"{self.label} is a {platform.name} export ({platform.evidence}): its first "
                f"{platform.header_rows - 1} row(s) after the column names are question texts, "
                f"not answers. Set header_rows = {platform.header_rows} in [source]"
            )

    def _note_reading(self, bad: BadRows) -> None:
        for note in bad.notes:
            self._add(Problem(Reason.FORMAT_DETECTED, Severity.INFO, self.label, None, 1, fix=note))

    def _expected_columns(self) -> list[str]:
        names = source_columns(self.spec, self.columns)
        if self.spec.outcome_source is None:
            # With a separate outcome source, attributes may live in either source;
            # _journey_attributes checks them there.
            names += list(self.spec.attributes)
        if self.spec.layout == "wide":
            names += [t.column for t in self.spec.touchpoints if t.column]
            names += [t.text_column for t in self.spec.touchpoints if t.text_column]
        if self.spec.outcome_source is None:
            names += [o.column for o in self.spec.outcomes if o.column]
        return names

    def _check_columns(self, raw: pd.DataFrame) -> None:
        present = set(raw.columns)
        missing = [c for c in dict.fromkeys(self._expected_columns()) if c not in present]
        if missing:
            listed = ", ".join(repr(c) for c in missing)
            present_names = [str(c) for c in raw.columns if c != ROW]
            close = ", ".join(repr(c) for c in present_names)[:300]
            hints = [(m, did_you_mean(m, present_names)) for m in missing]
            fixes = "; ".join(f"write {h!r} instead of {m!r}" for m, h in hints if h)
            fix = (
                f"Did you mean: {fixes}."
                if fixes
                else "Fix the column names in the spec (case and spaces matter) or check "
                "`delimiter` and `header_rows` in [source]."
            )
            raise MissingColumnError(
                f"{self.label}: column(s) {listed} named in the spec are not in the source. "
                f"The source has: {close}. {fix}",
                column=missing[0],
                source=self.label,
            )
        known = set(self._expected_columns()) | set(self.spec.ignore_columns) | {ROW}
        unknown = [c for c in raw.columns if c not in known]
        if unknown:
            severity = Severity.INFO if self.spec.source.format == "xes" else Severity.WARNING
            self._add(
                Problem(
                    Reason.UNKNOWN_COLUMN,
                    severity,
                    self.label,
                    None,
                    len(unknown),
                    example=", ".join(unknown[:8]),
                    fix="map them in [columns] or `attributes`, or list them in "
                    "`ignore_columns` to silence this",
                )
            )

    def _drop_badly_encoded(self, raw: pd.DataFrame, bad: BadRows) -> pd.DataFrame:
        if not bad.reasons:
            return raw
        mask = raw[ROW].isin(list(bad.reasons))
        first = next(iter(bad.reasons.values()))
        fix = first.split("; ", 1)[-1]
        self._reject(raw, mask, Reason.BAD_ENCODING, None, fix)
        return raw.loc[~mask]

    # -- events --------------------------------------------------------------

    def _events_from_long(self, raw: pd.DataFrame) -> pd.DataFrame:
        cols = self.columns
        events = pd.DataFrame({ROW: raw[ROW].to_numpy()}, index=raw.index)
        events["journey_id"] = _text(raw[cols["journey_id"]])
        events["touchpoint"] = _text(raw[cols["touchpoint"]])
        for role in ("customer_id", "channel", "initiated_by", "text", "lang"):
            events[role] = _text(raw[cols[role]]) if role in cols else pd.NA
        if "seq" in cols:
            seq, bad_seq = parse_numbers(raw[cols["seq"]], decimal=self.spec.source.decimal)
            events = self._reject_and_drop(
                events,
                bad_seq | seq.isna(),
                Reason.MISSING_VALUE,
                cols["seq"],
                "give every row a whole-number sequence",
                raw,
            )
            events["seq"] = seq.loc[events.index].astype("int64")
        else:
            events["seq"] = events[ROW] - 1
        events = self._require_values(events, raw, ("journey_id", "touchpoint"))
        events["ts"] = self._timestamps(raw.loc[events.index], events)
        events = events.loc[events["ts"].notna() | ~self._ts_present(raw, events)]
        events = self._initiators(events, raw)
        events = self._scores(events, raw.loc[events.index], source_col=cols.get("score"))
        if "valence" in cols:
            events = self._given_valence(events, raw)
        if "customer_id" not in cols:
            events["customer_id"] = events["journey_id"]
        return events

    def _events_from_wide(self, raw: pd.DataFrame) -> pd.DataFrame:
        id_col = self.columns["journey_id"]
        given = _text(raw[id_col]).notna()  # (an id of blanks only is no id)
        frame = raw.loc[given]
        self._reject(
            raw,
            ~given,
            Reason.MISSING_VALUE,
            id_col,
            MISSING_RESPONDENT_FIX,
        )
        touchpoints = wide_order(self.spec.touchpoints)
        n_tp = len(touchpoints) + 1
        ids = _text(frame[id_col]).to_numpy()  # once, not once per touchpoint
        events = self._wide_interleaved(frame, ids, touchpoints, n_tp)
        if events is None:
            events = self._wide_concatenated(frame, ids, touchpoints, n_tp)
        for role in ("channel", "text", "lang"):
            if role not in events:
                events[role] = pd.NA
        if "customer_id" in self.columns:
            by_row = dict(zip(frame[ROW], _text(frame[self.columns["customer_id"]]), strict=True))
            events["customer_id"] = events[ROW].map(by_row).astype("string")
        else:
            events["customer_id"] = events["journey_id"]
        events["ts"] = pd.Series(pd.NaT, index=events.index, dtype="datetime64[us, UTC]")
        events = self._initiators(events, raw)
        scored = self._scores_wide(events)
        return scored.drop(columns=["__raw_score__", "__column__"])

    def _wide_interleaved(
        self, frame: pd.DataFrame, ids: np.ndarray, touchpoints: list[Touchpoint], n_tp: int
    ) -> pd.DataFrame | None:
        """The events of a wide export built directly in (row, touchpoint) order.

        The common case (score columns of one type, no comment columns): the score
        grid is read row by row, so no concatenation and no sort of millions of
        events are needed. None when the general path must run; both give the same
        frame.
        """
        columns = [str(t.column) for t in touchpoints]
        if "text" in self.columns or any(t.text_column for t in touchpoints):
            return None
        if len({frame[c].dtype for c in columns}) != 1 or len(set(columns)) != len(columns):
            return None
        k, rows = len(touchpoints), frame[ROW].to_numpy()
        return pd.DataFrame(
            {
                ROW: np.repeat(rows, k),
                "journey_id": np.repeat(ids, k),
                "touchpoint": np.tile(np.array([t.name for t in touchpoints], object), len(rows)),
                "seq": (((rows - 1) * n_tp)[:, None] + np.arange(k)[None, :]).ravel(),
                "__raw_score__": frame[columns].to_numpy().ravel(),
                "__column__": np.tile(np.array(columns, dtype=object), len(rows)),
            },
            # the arrays are new: no copy, and no stacking of the four object columns
            # into one block (a second of the airline data's 1.8 million events)
            copy=False,
        )

    def _wide_concatenated(
        self, frame: pd.DataFrame, ids: np.ndarray, touchpoints: list[Touchpoint], n_tp: int
    ) -> pd.DataFrame:
        """The events of a wide export, one part per touchpoint (and comment), in
        (row, touchpoint) order."""
        parts = []
        for position, touchpoint in enumerate(touchpoints):
            assert touchpoint.column is not None
            part = self._wide_part(frame, ids, touchpoint.name, position, n_tp, touchpoint.column)
            if touchpoint.text_column:
                part["text"] = _text(frame[touchpoint.text_column]).to_numpy()
            parts.append(part)
        if "text" in self.columns:
            parts.append(self._wide_comments(frame, len(touchpoints), n_tp))
        events = pd.concat(parts, ignore_index=True)
        # seq = (row - 1) * n_tp + position is unique and grows with the row, so ordering
        # by it alone is ordering by (row, seq), without a two-column sort
        order = np.argsort(events["seq"].to_numpy(), kind="stable")
        return events.iloc[order].reset_index(drop=True)

    def _wide_part(
        self,
        frame: pd.DataFrame,
        ids: np.ndarray,
        name: str,
        position: int,
        n_tp: int,
        column: str | None,
    ) -> pd.DataFrame:
        """One event per respondent (journey ``ids``) at touchpoint ``name``, score from
        ``column``."""
        return pd.DataFrame(
            {
                ROW: frame[ROW].to_numpy(),
                "journey_id": ids,
                "touchpoint": name,
                "seq": (frame[ROW].to_numpy() - 1) * n_tp + position,
                "__raw_score__": frame[column].to_numpy() if column else None,
                "__column__": column or self.columns["text"],
            }
        )

    def _wide_comments(self, frame: pd.DataFrame, position: int, n_tp: int) -> pd.DataFrame:
        """A journey-level comment becomes an unscored last event, where a comment is given."""
        text = _text(frame[self.columns["text"]])
        given = frame.loc[text.notna().to_numpy()]
        ids = _text(given[self.columns["journey_id"]]).to_numpy()
        part = self._wide_part(given, ids, WIDE_COMMENT, position, n_tp, None)
        part["text"] = text[text.notna()].to_numpy()
        return part

    def _require_values(
        self, events: pd.DataFrame, raw: pd.DataFrame, roles: tuple[str, ...]
    ) -> pd.DataFrame:
        for role in roles:
            events = self._reject_and_drop(
                events,
                events[role].isna(),
                Reason.MISSING_VALUE,
                self.columns[role],
                f"fill in the {role.replace('_', ' ')} or remove the row",
                raw,
            )
        return events

    def _ts_present(self, raw: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
        if "ts" not in self.columns:
            return pd.Series(False, index=events.index)
        present: pd.Series = raw.loc[events.index, self.columns["ts"]].notna()
        return present

    def _timestamps(self, raw: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
        if "ts" not in self.columns:
            return pd.Series(pd.NaT, index=events.index, dtype="datetime64[us, UTC]")
        col, source = self.columns["ts"], self.spec.source
        parsed = parse_timestamps(raw[col], timezone=source.timezone, fmt=source.timestamp_format)
        fix = (
            "write ISO 8601 (2024-03-31T14:05:00+02:00) or set `timestamp_format` in [source] "
            '(e.g. "%d-%m-%Y %H:%M")'
        )
        self._reject(raw, parsed.unparsable, Reason.BAD_TIMESTAMP, col, fix)
        if parsed.naive.any():
            mixed = bool(parsed.had_offset.any())
            reason = Reason.MIXED_TIMEZONES if mixed else Reason.TIMEZONE_ASSUMED
            self._note(
                raw,
                parsed.naive,
                reason,
                Severity.WARNING if mixed else Severity.INFO,
                col,
                f"read as local time in {source.timezone!r} and converted to UTC; set "
                "`timezone` in [source] if that zone is wrong",
            )
        missing_ts = raw[col].isna()
        self._note(
            raw,
            missing_ts,
            Reason.MISSING_VALUE,
            Severity.WARNING,
            col,
            "events without a time keep their place by sequence but have no duration",
        )
        return parsed.values.astype("datetime64[us, UTC]")

    def _initiators(self, events: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
        by_catalogue = {t.name: t.initiated_by for t in self.spec.touchpoints if t.initiated_by}
        if "initiated_by" in self.columns and self.spec.layout == "long":
            values = events["initiated_by"].str.strip().str.lower()
            bad = values.notna() & ~values.isin(INITIATORS)
            events = self._reject_and_drop(
                events,
                bad,
                Reason.BAD_VALUE,
                self.columns["initiated_by"],
                "use 'customer' or 'company'",
                raw,
            )
            values = values.loc[events.index]
            fallback = events["touchpoint"].map(by_catalogue)
            events["initiated_by"] = values.where(values.notna(), fallback)
        else:
            events["initiated_by"] = events["touchpoint"].map(by_catalogue)
        return events

    def _scale(self, touchpoint: str) -> Scale | None:
        return self.spec.scale_for(self.spec.touchpoint(touchpoint))

    def _scores(
        self, events: pd.DataFrame, raw: pd.DataFrame, *, source_col: str | None
    ) -> pd.DataFrame:
        if source_col is None:
            events["score"] = np.nan
            events["valence"] = np.nan
            return events
        return self._score_values(events, raw[source_col], source_col, raw)

    def _scores_wide(self, events: pd.DataFrame) -> pd.DataFrame:
        return self._score_values(events, events["__raw_score__"], "__column__", events)

    def _score_values(
        self, events: pd.DataFrame, raw_scores: pd.Series, column: str, raw: pd.DataFrame
    ) -> pd.DataFrame:
        text_na = self._na_text_mask(events, raw_scores)
        raw_scores = raw_scores.mask(text_na)
        values, unreadable = parse_numbers(raw_scores, decimal=self.spec.source.decimal)
        column_of = self._column_namer(column, events)
        for name, mask in _by_column(unreadable, column_of):
            self._reject(raw, mask, Reason.BAD_SCORE, name, self._bad_score_fix(raw_scores[mask]))
        if unreadable.any():  # a boolean take copies every column of millions of rows
            events = events.loc[~unreadable]
            values = values.loc[events.index]
        low, high, neutral, reverse = self._scale_arrays(events, values)
        na_codes = self._na_mask(events, values) | text_na.loc[events.index]
        outside = values.notna() & ~na_codes & ((values < low) | (values > high))
        for name, mask in _by_column(outside, column_of):
            self._reject(
                raw,
                mask,
                Reason.SCORE_OUT_OF_SCALE,
                name,
                "correct the score, or declare the scale (low/high/not_applicable) in [scales]",
            )
        self._note_na(events, na_codes, column_of, raw)
        keep = ~outside
        if outside.any():
            events, values, na_codes = events.loc[keep], values.loc[keep], na_codes.loc[keep]
            low, high, neutral, reverse = (
                a[keep.to_numpy()] for a in (low, high, neutral, reverse)
            )
        score = values.where(~na_codes, np.nan).to_numpy(dtype="float64")
        above = (score - neutral) / (high - neutral)
        below = (score - neutral) / (neutral - low)
        valence = np.where(score >= neutral, above, below)
        events["score"] = score
        events["valence"] = np.where(reverse, -valence, valence)
        return events

    def _column_namer(self, column: str, events: pd.DataFrame) -> pd.Series:
        if column == "__column__":
            return events["__column__"]
        return pd.Series(column, index=events.index)

    def _scale_arrays(
        self, events: pd.DataFrame, values: pd.Series
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # one lookup per distinct touchpoint, spread by code: millions of events, few names
        codes, uniques = pd.factorize(events["touchpoint"])
        names = [str(n) for n in uniques]
        scales = {n: self._scale(n) for n in names}
        scored_codes = np.unique(codes[values.notna().to_numpy() & (codes >= 0)])
        present = {names[int(c)] for c in scored_codes}
        unscaled = sorted({n for n, s in scales.items() if s is None} & present)
        if unscaled:
            raise ConfigError(
                f"{self.label}: scores found for touchpoint(s) without a declared scale: "
                f"{', '.join(unscaled[:5])}. Declare one under [scales] (e.g. [scales.csat] "
                "low = 1, high = 5) and set `default_scale` or the touchpoint's `scale`."
            )
        fill = Scale(0, 1)
        chosen = [scales[n] or fill for n in names]

        def column(values: list[float]) -> np.ndarray:
            # code -1 (a missing touchpoint) takes the appended NaN, as a failed lookup did
            return np.asarray([*values, np.nan], dtype="float64")[codes]

        low = column([s.low for s in chosen])
        high = column([s.high for s in chosen])
        neutral = column([s.midpoint for s in chosen])
        reverse = np.asarray([s.reversed for s in chosen] + [False], dtype=bool)[codes]
        return low, high, neutral, reverse

    def _bad_score_fix(self, bad: pd.Series) -> str:
        """The change to make for scores that are not numbers, from what they look like."""
        text = bad.astype("string").str.strip()
        if self.spec.source.decimal != "," and text.str.fullmatch(r"-?\d+,\d+").all():
            return 'the scores use a decimal comma: set decimal = "," in [source]'
        codes = [str(v) for v in text.dropna().unique()[:3]]
        if codes and not text.str.contains(r"\d", regex=True).any():
            listed = ", ".join(f'"{c}"' for c in codes)
            scale = self.spec.default_scale or "NAME"
            return (
                f"if {listed} mean(s) 'not applicable', add not_applicable = [{listed}] to "
                f"[scales.{scale}]; otherwise correct the scores to numbers"
            )
        return "scores must be numbers; correct them, or check `decimal` in [source]"

    def _na_text_mask(self, events: pd.DataFrame, raw_scores: pd.Series) -> pd.Series:
        """Scores that are a declared text code for "not applicable" ("N/A")."""
        mask = pd.Series(False, index=events.index)
        if pd.api.types.is_numeric_dtype(raw_scores.dtype):
            return mask
        text: pd.Series | None = None
        for name in events["touchpoint"].unique():
            scale = self._scale(str(name))
            if scale is None or not scale.not_applicable_text:
                continue
            if text is None:
                text = raw_scores.astype("string").str.strip().str.lower()
            codes = [c.lower() for c in scale.not_applicable_text]
            mask |= (events["touchpoint"] == name) & text.isin(codes).fillna(False)
        return mask.astype(bool)

    def _na_mask(self, events: pd.DataFrame, values: pd.Series) -> pd.Series:
        mask = np.zeros(len(events), dtype=bool)
        codes, names = pd.factorize(events["touchpoint"])
        # touchpoints sharing the same not-applicable codes (usually all of them) are
        # checked together: one pass over the values per distinct list, not per touchpoint
        by_codes: dict[tuple[float, ...], list[int]] = {}
        for code, name in enumerate(names):
            scale = self._scale(str(name))
            if scale is not None and scale.not_applicable:
                by_codes.setdefault(tuple(scale.not_applicable), []).append(code)
        for na_values, touchpoint_codes in by_codes.items():
            is_na = values.isin(list(na_values)).to_numpy(dtype=bool)
            mask |= np.isin(codes, touchpoint_codes) & is_na
        return pd.Series(mask, index=events.index)

    def _note_na(
        self, events: pd.DataFrame, na_codes: pd.Series, column_of: pd.Series, raw: pd.DataFrame
    ) -> None:
        rows = None  # the raw rows behind the events, taken once (a wide export has millions)
        for name, mask in _by_column(na_codes, column_of):
            if rows is None:
                # a wide export's events are their own raw rows: no copy needed
                same = raw is events or raw.index.equals(events.index)
                rows = raw if same else raw.loc[events.index]
            self._note(
                rows,
                mask,
                Reason.NOT_APPLICABLE,
                Severity.INFO,
                name,
                "nothing to fix: these answers count as 'not applicable', not as low scores",
            )

    def _given_valence(self, events: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
        col = self.columns["valence"]
        values, bad = parse_numbers(raw.loc[events.index, col], decimal=self.spec.source.decimal)
        bad |= values.notna() & ((values < -1) | (values > 1))
        events = self._reject_and_drop(
            events, bad, Reason.BAD_VALUE, col, "valence must be a number in [-1, 1]", raw
        )
        given = values.loc[events.index]
        return events.assign(valence=given.where(given.notna(), events["valence"]))

    def _drop_duplicates(self, events: pd.DataFrame) -> pd.DataFrame:
        if events["ts"].isna().all():
            return events
        keys = ["journey_id", "touchpoint", "ts", "score", "channel", "text"]
        dup = events.duplicated(subset=keys, keep="first") & events["ts"].notna()
        return self._reject_and_drop(
            events,
            dup,
            Reason.DUPLICATE_EVENT,
            None,
            "remove the repeated rows from the export (the first copy is kept)",
            events,
        )

    def _drop_repeated_journeys(self, raw: pd.DataFrame) -> pd.DataFrame:
        col = self.columns["journey_id"]
        dup = raw[col].notna() & raw.duplicated(subset=[col], keep="first")
        self._reject(
            raw,
            dup,
            Reason.DUPLICATE_JOURNEY,
            col,
            REPEATED_RESPONDENT_FIX,
        )
        return raw.loc[~dup]

    # -- outcomes ------------------------------------------------------------

    def _outcomes(self, raw: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
        source, id_col = raw, self.columns["journey_id"]
        label = self.label
        if self.spec.outcome_source is not None:
            source, _ = read_source(self.spec.outcome_source)
            source = source.reset_index(drop=True)
            source.insert(0, ROW, np.arange(1, len(source) + 1, dtype=np.int64))
            id_col = self.spec.outcome_journey_col or id_col
            label = _short_path(self.spec.outcome_source.label)
            self._check_outcome_columns(source, id_col, label)
        ids = _text(source[id_col])
        keep = ids.notna()
        per_journey = pd.DataFrame({"journey_id": ids[keep]})
        for outcome in self.spec.outcomes:
            if outcome.from_touchpoint is None:
                assert outcome.column is not None
                per_journey[outcome.name] = self._read_outcome(
                    outcome, source.loc[keep], outcome.column, label
                )
        for attribute in self.spec.attributes:
            if attribute in source:
                per_journey[attribute] = _text(source.loc[keep, attribute])
        per_journey = self._one_row_per_journey(per_journey)
        per_journey = self._journey_attributes(per_journey, raw, source, label)
        journeys = pd.DataFrame({"journey_id": events["journey_id"].unique()})
        table = journeys.merge(per_journey, on="journey_id", how="left")
        for outcome in self.spec.outcomes:
            if outcome.from_touchpoint is not None:
                has = events.loc[events["touchpoint"] == outcome.from_touchpoint, "journey_id"]
                table[outcome.name] = table["journey_id"].isin(set(has)).astype("float64")
        # the outcomes in the spec's order, then the attributes (as the DuckDB loader)
        table = table[["journey_id", *(o.name for o in self.spec.outcomes), *self.spec.attributes]]
        self._report_missing_outcomes(table, per_journey, journeys, label)
        return table

    def _journey_attributes(
        self, per_journey: pd.DataFrame, raw: pd.DataFrame, source: pd.DataFrame, label: str
    ) -> pd.DataFrame:
        """Attributes not in the outcome source come from the events source (first value)."""
        elsewhere = [a for a in self.spec.attributes if a not in source]
        if not elsewhere:
            return per_journey
        missing = [a for a in elsewhere if a not in raw]
        if missing:
            raise MissingColumnError(
                f"attribute column(s) {', '.join(map(repr, missing))} are in neither {label} "
                f"nor {self.label}; fix `attributes` in the spec",
                column=missing[0],
                source=label,
            )
        ids = _text(raw[self.columns["journey_id"]])
        values = pd.DataFrame({"journey_id": ids, **{a: _text(raw[a]) for a in elsewhere}})
        firsts = values.dropna(subset=["journey_id"]).groupby("journey_id", sort=False).first()
        return per_journey.merge(firsts.reset_index(), on="journey_id", how="outer")

    def _check_outcome_columns(self, source: pd.DataFrame, id_col: str, label: str) -> None:
        needed = [id_col] + [o.column for o in self.spec.outcomes if o.column]
        missing = [c for c in needed if c not in source]
        if missing:
            raise MissingColumnError(
                f"{label}: outcome column(s) {', '.join(map(repr, missing))} are not in the "
                f"outcome source; it has {', '.join(map(repr, source.columns[1:]))}",
                column=missing[0],
                source=label,
            )

    def _read_outcome(
        self, outcome: Outcome, source: pd.DataFrame, column: str, label: str
    ) -> pd.Series:
        raw = source[column]
        if outcome.kind == "binary":
            text = on_distinct(raw, lambda cells: cells.astype("string").str.strip().str.lower())
            positive = {v.lower() for v in outcome.positive}
            negative = {v.lower() for v in outcome.negative}
            values = pd.Series(np.nan, index=raw.index)
            values[text.isin(positive)] = 1.0
            if negative:
                values[text.isin(negative)] = 0.0
            else:
                values[text.notna() & ~text.isin(positive)] = 0.0
            bad = text.notna() & values.isna()
            fix = (
                f"add the value to `positive` or `negative` of [outcomes.{outcome.name}] "
                f"(allowed now: {', '.join(outcome.positive + outcome.negative)})"
            )
        else:
            values, bad = parse_numbers(raw, decimal=self.spec.source.decimal)
            scale = self.spec.scales.get(outcome.scale) if outcome.scale else None
            fix = "outcomes must be numbers; check `decimal` in [source]"
            if scale is not None:
                outside = values.notna() & ((values < scale.low) | (values > scale.high))
                values = values.where(~outside)
                bad |= outside
                fix = f"outcome values must lie on the scale {scale.describe()}"
        self._note(source, bad, Reason.BAD_OUTCOME, Severity.WARNING, column, fix, label=label)
        return values.astype("float64")

    def _one_row_per_journey(self, per_journey: pd.DataFrame) -> pd.DataFrame:
        return per_journey.groupby("journey_id", sort=False, as_index=False).first()

    def _report_missing_outcomes(
        self, table: pd.DataFrame, per_journey: pd.DataFrame, journeys: pd.DataFrame, label: str
    ) -> None:
        names = [o.name for o in self.spec.outcomes]
        if not names:
            return
        without = table[names].isna().all(axis=1)
        if without.any():
            ids = table.loc[without, "journey_id"].head(5).tolist()
            self._add(
                Problem(
                    Reason.NO_OUTCOME,
                    Severity.WARNING,
                    label,
                    None,
                    int(without.sum()),
                    example=", ".join(ids),
                    fix="add their outcome to the outcome source, or accept that outcome "
                    "models use only journeys with an outcome",
                )
            )
        orphans = ~per_journey["journey_id"].isin(set(journeys["journey_id"]))
        if orphans.any():
            self._add(
                Problem(
                    Reason.OUTCOME_WITHOUT_EVENTS,
                    Severity.INFO,
                    label,
                    None,
                    int(orphans.sum()),
                    example=", ".join(per_journey.loc[orphans, "journey_id"].head(5)),
                    fix="check that both sources use the same journey ids",
                )
            )

    # -- catalogue -----------------------------------------------------------

    def _check_catalogue(self, events: pd.DataFrame) -> None:
        if not self.spec.touchpoints:
            return
        declared = {t.name for t in self.spec.touchpoints} | {WIDE_COMMENT}
        unknown = ~events["touchpoint"].isin(declared)
        if unknown.any():
            names = events.loc[unknown, "touchpoint"].unique()
            self._add(
                Problem(
                    Reason.UNKNOWN_TOUCHPOINT,
                    Severity.INFO,
                    self.label,
                    self.columns.get("touchpoint"),
                    int(unknown.sum()),
                    example=", ".join(map(str, names[:5])),
                    fix="add them to [[touchpoints]] to give them a stage, cost and initiator",
                )
            )

    def _catalogue(self, events: pd.DataFrame) -> pa.Table:
        """Declared entries, then the rest; ``initiated_by`` from the data where not declared.

        The touchpoints seen come most events first, and on a tie the one whose first
        event comes first in the source (as the DuckDB loader orders them).
        """
        seen = [str(name) for name in _most_first(events, ["touchpoint"])]
        return self._catalogue_table(seen, _usual_initiator(events))

    def _catalogue_table(self, seen: list[str], from_data: dict[str, str]) -> pa.Table:
        """The catalogue from the touchpoints seen (most events first) and their usual initiator."""
        rows = [
            {
                "touchpoint": t.name,
                "stage": t.stage,
                "brand_relevance": t.brand_relevance,
                "cost": t.cost,
                "owner": t.owner,
                "initiated_by": t.initiated_by or from_data.get(t.name),
            }
            for t in self.spec.touchpoints
        ]
        declared = {t.name for t in self.spec.touchpoints}
        rows += [
            {
                "touchpoint": name,
                "stage": None,
                "brand_relevance": None,
                "cost": None,
                "owner": None,
                "initiated_by": from_data.get(name),
            }
            for name in seen
            if name not in declared
        ]
        return pa.Table.from_pylist(rows, schema=TOUCHPOINT_SCHEMA)

    # -- problem bookkeeping -------------------------------------------------

    def _add(self, problem: Problem | None) -> None:
        if problem is not None:
            self.report.problems.append(problem)

    def _reject(
        self, raw: pd.DataFrame, mask: pd.Series, reason: Reason, column: str | None, fix: str
    ) -> None:
        problem = problem_from_mask(
            raw,
            mask,
            reason=reason,
            severity=Severity.ERROR,
            source=self.label,
            column=column,
            fix=fix,
        )
        if problem is None:
            return
        self._add(problem)
        self.quarantine.add(
            raw, mask, source=self.label, reason=reason, column=column, message=problem.message()
        )

    def _reject_and_drop(
        self,
        events: pd.DataFrame,
        mask: pd.Series,
        reason: Reason,
        column: str | None,
        fix: str,
        raw: pd.DataFrame,
    ) -> pd.DataFrame:
        mask = mask.fillna(False).astype(bool)
        self._reject(raw.loc[mask.index], mask, reason, column, fix)
        return events.loc[~mask]

    def _note(
        self,
        raw: pd.DataFrame,
        mask: pd.Series,
        reason: Reason,
        severity: Severity,
        column: str | None,
        fix: str,
        *,
        label: str | None = None,
    ) -> None:
        self._add(
            problem_from_mask(
                raw,
                mask,
                reason=reason,
                severity=severity,
                source=label or self.label,
                column=column,
                fix=fix,
            )
        )


def _usual_initiator(events: pd.DataFrame) -> dict[str, str]:
    """Per touchpoint, the initiator most of its events name (when the data have one);
    on a tie, the one named first in the source."""
    known = events.loc[events["initiated_by"].notna(), ["touchpoint", "initiated_by", ROW]]
    if known.empty:
        return {}
    pairs = known.astype({"touchpoint": "string", "initiated_by": "string"})
    usual: dict[str, str] = {}
    for touchpoint, initiator in _most_first(pairs, ["touchpoint", "initiated_by"]):
        usual.setdefault(str(touchpoint), str(initiator))
    return usual


def _most_first(rows: pd.DataFrame, keys: list[str]) -> pd.Index:
    """The distinct ``keys`` of ``rows``, most rows first, on a tie the one met first
    (smallest row number), as the DuckDB loader orders them."""
    counted = rows.groupby(keys, observed=True)[ROW].agg(["size", "min"])
    return counted.sort_values(["size", "min"], ascending=[False, True]).index


def _by_column(mask: pd.Series, column_of: pd.Series) -> list[tuple[str, pd.Series]]:
    """Split a mask per source column (wide exports have one column per touchpoint)."""
    if not mask.any():
        return []
    # The mask may cover fewer rows than column_of (rows with unreadable scores are gone).
    column_of = column_of.loc[mask.index]
    codes, names = pd.factorize(column_of)
    flagged = mask.to_numpy(dtype=bool)
    found = pd.unique(codes[flagged & (codes >= 0)])  # first appearance first, as before
    return [
        (str(names[int(code)]), pd.Series(flagged & (codes == code), index=mask.index))
        for code in found
    ]


def wide_order(touchpoints: Sequence[Touchpoint]) -> list[Touchpoint]:
    """The touchpoints of a wide export in the order of their events: by stage, else by
    their place in the catalogue."""
    ordered = sorted(
        enumerate(touchpoints),
        key=lambda item: (item[1].stage if item[1].stage is not None else item[0], item[0]),
    )
    return [touchpoint for _, touchpoint in ordered]


def _text(column: pd.Series) -> pd.Series:
    """Column as nullable text, blanks as missing."""
    return on_distinct(column, _stripped)


#: The characters ``str.strip()`` removes: every character for which ``str.isspace()``.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _stripped(column: pd.Series) -> pd.Series:
    """``column.astype("string").str.strip()``, blanks as missing, stripped in Arrow.

    Columns of mostly distinct values (journey ids) reach here cell by cell
    (:func:`~peakend.distinct.on_distinct`), where pandas' Python-storage strings
    call ``str.strip`` once per cell; Arrow trims the same characters
    (:data:`PYTHON_WHITESPACE`) in one pass, 10x faster on the airline ids.
    """
    text = column.astype("string")
    values = pa.array(text, type=pa.large_string(), from_pandas=True)
    trimmed = pc.utf8_trim(values, characters=PYTHON_WHITESPACE)
    result = pd.Series(
        pd.array(trimmed.to_numpy(zero_copy_only=False), dtype=text.dtype),
        index=column.index,
        name=column.name,
    )
    return result.mask(result == "")


def _short_path(label: str) -> str:
    path = Path(label)
    return path.name if path.is_absolute() else label


def _to_event_table(events: pd.DataFrame) -> pa.Table:
    # the journey ids are coded once: for the order and for their Arrow column
    codes, uniques = pd.factorize(events["journey_id"], sort=True)
    order = _event_order(events, codes)
    ordered = events.iloc[order]
    columns = {}
    for field in EVENT_SCHEMA:
        values = ordered[field.name]
        if field.name == "journey_id":
            columns[field.name] = _string_array(values, field.type, (codes[order], uniques))
        elif field.name == "ts":
            columns[field.name] = pa.array(values, type=field.type, from_pandas=True)
        elif field.name == "customer_id" and values.equals(ordered["journey_id"]):
            # no customer column: every customer is its journey, already converted
            columns[field.name] = columns["journey_id"].cast(field.type)
        elif pa.types.is_string(field.type):
            columns[field.name] = _string_array(values, field.type)
        else:
            columns[field.name] = pa.array(values, type=field.type, from_pandas=True)
    return pa.table(columns, schema=EVENT_SCHEMA)


def _string_array(
    values: pd.Series, type_: pa.DataType, factorized: tuple[np.ndarray, Any] | None = None
) -> pa.Array:
    """``values`` as an Arrow string array, converting each distinct text once.

    Millions of events repeat a few touchpoint names and one id per journey event;
    converting the distinct strings and taking them by code gives the same array.
    ``factorized`` gives the codes and distinct values of ``values`` when known.
    """
    if values.isna().all():
        return pa.nulls(len(values), type=type_)
    if not (isinstance(values.dtype, pd.StringDtype) or values.dtype == object):
        return pa.array(values.astype("string"), type=type_, from_pandas=True)
    codes, uniques = pd.factorize(values) if factorized is None else factorized
    if 2 * len(uniques) > len(values) or pd.api.types.infer_dtype(uniques) != "string":
        return pa.array(values.astype("string"), type=type_, from_pandas=True)
    dictionary = pa.array(list(uniques), type=type_)
    return dictionary.take(pa.array(codes, mask=codes < 0))


def _event_order(events: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """Positions ordering events by journey, time and sequence, missing values last.

    The same order as a stable ``sort_values(["journey_id", "ts", "seq"],
    na_position="last")``, sorting integer codes instead of millions of strings:
    ``ids`` are the journey ids' codes from ``pd.factorize(..., sort=True)``.
    """
    ids = np.where(ids < 0, np.iinfo(np.int64).max, ids)
    ts = events["ts"]
    ts_key = np.where(ts.isna().to_numpy(), np.iinfo(np.int64).max, pd.DatetimeIndex(ts).asi8)
    seq = events["seq"].to_numpy()
    return np.lexsort((seq, ts_key, ids))


def ensure_events(data: Dataset | pa.Table) -> pa.Table:
    """The events of a :class:`Dataset`, or an events table checked against the schema."""
    if isinstance(data, Dataset):
        return data.events
    missing = [c for c in EVENT_SCHEMA.names if c not in data.column_names]
    if missing:
        raise DataError(f"events table lacks canonical column(s): {', '.join(missing)}")
    return data
