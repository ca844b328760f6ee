"""Column values as SQL: timestamps with their time zones, scores with their
scales and not-applicable answers, the canonical score, valence and initiator,
and the text columns that need no stripping.
"""

from __future__ import annotations

import re
from pathlib import Path

from peakend.loading.duck.base import Unsupported
from peakend.loading.duck.problems import ProblemRecording
from peakend.loading.duck.sql import _changed_by_text, _in_list, _lit, _q, _strip, _text_lower
from peakend.loading.duck.time_format import format_pattern
from peakend.loading.duck.zones import FIRST_YEAR, LAST_YEAR, changing_dates
from peakend.schema import Scale
from peakend.validate import _OFFSET, _UTC_NAME, SQL_TIME

#: The text roles of the events, in the order of the events' query: each is stripped
#: (:meth:`~peakend.loading.duck.base.DuckBase._text_of`) unless read as it is.
_TEXT_ROLES: tuple[str, ...] = ("journey_id", "touchpoint", "customer_id", "channel")
_TEXT_ROLES += ("initiated_by", "text", "lang")

_LOCAL_SHAPED = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?")
"""Local times (no offset) read without a regular expression when every one has the
first one's shape."""
_SHAPED = re.compile(_LOCAL_SHAPED.pattern + r"(?:Z|[+-]\d{2}(?::?\d{2})?)")
"""Times with an offset read without a regular expression when every one has the
first one's shape."""


def timestamp_shape(first: str | None) -> str | None:
    """A ``GLOB`` pattern for times shaped as ``first`` (ISO 8601, with a UTC offset or
    without one): its digits as ``[0-9]``, the rest as written; None for any other time."""
    if first is None or not (_SHAPED.fullmatch(first) or _LOCAL_SHAPED.fullmatch(first)):
        return None
    return re.sub(r"\d", "[0-9]", first)


def local_shape(shape: str) -> bool:
    """Whether the ``GLOB`` pattern ``shape`` (:func:`timestamp_shape`) is of local times."""
    return _LOCAL_SHAPED.fullmatch(shape.replace("[0-9]", "0")) is not None


def text_time_sql(cell: str, text: str) -> tuple[str, str, str]:
    """SQL over a time given as text (``cell``, and ``text``, its stripped value):
    whether the SQL loaders read it themselves (:data:`~peakend.validate.SQL_TIME`;
    other text is left to the pandas reader, see :meth:`ColumnValues._timestamp_sql`),
    whether it has an offset, and the instant it gives with one (a zone named ``UTC``
    or ``GMT`` read as ``+00:00``, as the pandas reader reads it).

    In a time :data:`~peakend.validate.SQL_TIME` takes, an offset is a ``+``, a
    ``-`` after the first ``:`` (the date's come before the time), or one of the
    letters that only ``Z``, ``UTC`` and ``GMT`` bring (``T`` is also the separator),
    exactly where :data:`~peakend.validate._OFFSET` finds one. Those tests of the
    cell as it is cost 1.0 CPU seconds at ten million times, the regular expression
    of the stripped text 1.4, and the offset is read three times (the time and its
    two flags). The pattern carries its flags inline (``(?i)``), so that the same SQL
    runs on DuckDB and, translated, on Spark.
    """
    plain = f"coalesce(regexp_matches({text}, {_lit('(?i)' + SQL_TIME.pattern)}), FALSE)"
    letters = " OR ".join(f"strpos({cell}, '{c}') > 0" for c in "+ZzUuMm")
    after_colon = f"strpos(substr({cell}, strpos({cell}, ':')), '-') > 0"
    offset = f"({letters} OR (strpos({cell}, ':') > 0 AND {after_colon}))"
    named = f"regexp_replace({text}, {_lit('(?i)' + _UTC_NAME.pattern)}, '+00:00')"
    exact = f"coalesce(TRY_CAST({text} AS TIMESTAMPTZ), TRY_CAST({named} AS TIMESTAMPTZ))"
    return plain, offset, exact


class ColumnValues(ProblemRecording):
    """The SQL that parses and derives each event column."""

    _ts_by_nulls = False
    """Whether the time flags of the events' query (present, naive, with an offset,
    unreadable) follow from the time's nulls alone: a typed time, or text times all
    of one shape with an offset (:meth:`_timestamp_sql`)."""

    _from_dictionaries: frozenset[str] = frozenset()
    """Text columns of a Parquet source read as they are because every row group
    holds them dictionary-encoded and no distinct value needs stripping
    (:meth:`_clean_text_columns`): their few distinct values are cheap to find."""

    def _with_scales(self, events: str) -> str:
        """``events`` with each event's scale, in the same pass (a second copy of the
        events would cost as much as the first).

        When every touchpoint in the data has the same scale (one declared scale,
        the usual case), the scale is written into the query as constants: no join
        of every event with the table of scales.
        """
        one = self._one_scale()
        found = [one] if one is not None else [self._scale(n) for n in self._touchpoint_names()]
        scales = {
            (s.low, s.high, s.midpoint, s.reversed, tuple(s.not_applicable))
            for s in found
            if s is not None
        }
        if len(scales) != 1 or None in found:
            self._scale_table()
            return (
                "SELECT e.*, coalesce(s.low, 0) AS low, coalesce(s.high, 1) AS high, "
                "coalesce(s.neutral, 0.5) AS neutral, coalesce(s.reversed, FALSE) AS reversed, "
                "s.tp IS NOT NULL AS scaled, "
                "(e.na_text OR coalesce(list_contains(s.na, e.score_value), FALSE)) AS na "
                f"FROM ({events}) e LEFT JOIN scale_of s ON s.tp = e.tp"
            )
        low, high, neutral, reversed_, not_applicable = scales.pop()
        if float(high) - float(neutral) == float(neutral) - float(low):
            self._symmetric = (float(neutral), float(high) - float(neutral), bool(reversed_))
        na = "e.na_text"
        if not_applicable:
            values = ", ".join(f"CAST({float(v)!r} AS DOUBLE)" for v in not_applicable)
            na = f"(e.na_text OR coalesce(list_contains([{values}], e.score_value), FALSE))"
        # The scale's bounds are constants of the checks, not columns of every event
        # (five constant columns cost 2-3 CPU seconds to store at 10M events).
        self._scale_constants = {
            "low": f"CAST({float(low)!r} AS DOUBLE)",
            "high": f"CAST({float(high)!r} AS DOUBLE)",
            "neutral": f"CAST({float(neutral)!r} AS DOUBLE)",
            "reversed": str(bool(reversed_)).upper(),
            "scaled": "TRUE",
        }
        return f"SELECT e.*, {na} AS na FROM ({events}) e"

    def _scale_term(self, name: str) -> str:
        """SQL for the scale's ``low``, ``high``, ``neutral``, ``reversed`` or
        ``scaled`` of an event: a constant when one scale serves every touchpoint,
        else the column of that name (:meth:`_with_scales`)."""
        return self._scale_constants.get(name, name)

    def _with_finals(self, events: str) -> str:
        """``events`` with the canonical score, valence and initiator computed in the same pass.

        They are columns of the one table of events, not expressions of a view:
        every later check, the duplicate search and the engine read them as stored.
        A row that a check drops keeps its values; only kept rows are read.
        """
        columns = self._ev_columns_of(events)
        score = "CASE WHEN na THEN NULL ELSE score_value END" if "na" in columns else "score_value"
        scored = "score" in self.columns  # (the events have their scales, _with_scales)
        low, high, neutral, reversed_sql = (
            self._scale_term(n) for n in ("low", "high", "neutral", "reversed")
        )
        if scored and self._symmetric is not None:
            # One scale, as far above its neutral point as below: both branches of the
            # general formula are the same division, written once with constants.
            middle, half, flip = self._symmetric
            valence = f"(({score}) - CAST({middle!r} AS DOUBLE)) / CAST({half!r} AS DOUBLE)"
            valence = f"-({valence})" if flip else valence
        elif scored:
            valence = (
                f"CASE WHEN ({score}) >= {neutral} "
                f"THEN (({score}) - {neutral}) / ({high} - {neutral}) "
                f"ELSE (({score}) - {neutral}) / ({neutral} - {low}) END"
            )
            valence = f"CASE WHEN {reversed_sql} THEN -({valence}) ELSE {valence} END"
        else:
            valence = "CAST(NULL AS DOUBLE)"
        if "valence_given" in columns:
            valence = f"coalesce(valence_given, {valence})"
        initiator = self._initiator_fallback()
        if "initiated_by" in self.columns:
            initiator = f"coalesce(lower(initiated_by), {initiator})"
        return (
            f"SELECT *, {score} AS score_final, "
            f"{valence} AS valence_final, {initiator} AS initiator FROM ({events}) AS checked"
        )

    def _initiator_fallback(self) -> str:
        """SQL for each touchpoint's initiator from the catalogue (NULL when it has none)."""
        by_catalogue = {t.name: t.initiated_by for t in self.spec.touchpoints if t.initiated_by}
        fallback = "CASE tp " + " ".join(
            f"WHEN {_lit(n)} THEN {_lit(i)}" for n, i in by_catalogue.items()
        )
        return f"{fallback} END" if by_catalogue else "CAST(NULL AS VARCHAR)"

    def _clean_text_columns(self) -> set[str]:
        """Text columns of a Parquet source in which no value needs stripping or is blank.

        Only columns that are dictionary-encoded in every row group (a touchpoint,
        a channel) or hold no value at all are looked at
        (:meth:`_dictionary_clean`). Their values are then read as they are, not
        stripped one by one.
        """
        if self.spec.source.format != "parquet" or self.spec.source.path is None:
            return set()
        wanted = {c for r, c in self.columns.items() if r in _TEXT_ROLES}
        wanted = {c for c in wanted if self.types.get(c) == "VARCHAR"}
        clean = self._dictionary_clean(self.spec.source.path, "raw", wanted)
        self._from_dictionaries = frozenset(clean)
        rest = wanted - clean
        if rest and self._in_place():
            # The events are read through a view many times: the other columns
            # (identifiers) are read as they are, not stripped at every read, and the
            # count pass checks once that no value needs stripping (a pass of its own
            # cost 1 CPU second at 10M events); if one does, the view is built again.
            self._unverified = frozenset(rest)
            clean |= rest
        return clean

    def _dictionary_clean(self, path: Path, table: str, wanted: set[str]) -> set[str]:
        """Those of the text columns ``wanted`` of the Parquet file at ``path`` (read
        through view ``table``) that are dictionary-encoded in every row group or
        hold no value, and of which no distinct value needs stripping or is blank.

        DuckDB finds the distinct values of such a column from its dictionaries,
        without reading every value: the column can then be read as it is.
        """
        if not wanted:
            return set()
        candidates = self.db.sql(
            "SELECT path_in_schema FROM parquet_metadata("
            f"{_lit(str(path))}) GROUP BY ALL HAVING bool_and(dictionary_page_offset IS NOT NULL) "
            "OR sum(stats_null_count) = sum(num_values)"
        ).fetchall()
        clean = set()
        for (column,) in candidates:
            if column in wanted:
                # (a FILTER, not a WHERE, which DuckDB would apply to every row)
                changed = f"count(*) FILTER (WHERE {_changed_by_text('v')})"
                distinct = f"SELECT DISTINCT {_q(column)} AS v FROM {table}"
                if not self._scalar(f"SELECT {changed} FROM ({distinct})"):
                    clean.add(str(column))
        return clean

    def _timestamp_sql(self) -> list[str]:
        if "ts" not in self.columns:
            return [
                "CAST(NULL AS TIMESTAMPTZ) AS ts",
                "FALSE AS ts_present",
                "FALSE AS ts_naive",
                "FALSE AS ts_offset",
            ]
        col = self.columns["ts"]
        present = f"{_q(col)} IS NOT NULL"
        kind = self._kind(col)
        offset_shape = bool(self._ts_shape) and not local_shape(str(self._ts_shape))
        self._ts_by_nulls = kind == "instant" or (kind == "text" and offset_shape)
        if kind == "text" and self._ts_shape:
            return self._shaped_timestamp_sql(col, self._ts_shape)
        if kind == "text" and self.spec.source.timestamp_format:
            return self._formatted_timestamp_sql(col, self.spec.source.timestamp_format)
        if kind == "instant":
            return [
                f"{_q(col)} AS ts",
                f"{present} AS ts_present",
                "FALSE AS ts_naive",
                f"{present} AS ts_offset",
            ]
        if kind == "local":
            value = f"CAST({_q(col)} AS TIMESTAMP)"
            offset = "FALSE"
        elif kind == "text":
            text = _strip(_q(col))
            readable, offset, exact = text_time_sql(_q(col), text)
            value = f"TRY_CAST({text} AS TIMESTAMP)"
        else:
            raise Unsupported(f"timestamps of type {self.types[col]}")
        local_ok = self._local_time_sql(value)
        if kind == "text":
            ts = (
                f"CASE WHEN NOT {readable} THEN NULL WHEN {offset} THEN {exact} ELSE {local_ok} END"
            )
            self._confirm_timestamps(col, "ts_present AND ts IS NULL")
        else:
            ts = local_ok
        return [
            f"{ts} AS ts",
            f"{present} AS ts_present",
            f"({present} AND NOT {offset}) AS ts_naive",
            f"({present} AND {offset}) AS ts_offset",
        ]

    def _formatted_timestamp_sql(self, col: str, fmt: str) -> list[str]:
        """The times of text column ``col`` written in the declared format ``fmt``
        (:mod:`~peakend.loading.duck.time_format`), local times in the source's zone.

        A time with an offset where the pandas reader sees one, or not of the shape
        the format gives, is NULL here; the pandas reader then confirms it cannot
        read it either (:meth:`_confirm_timestamps`).
        """
        pattern = format_pattern(fmt)
        if pattern is None:
            raise Unsupported(f"timestamp_format {fmt!r}")
        text = _strip(_q(col))
        offset = f"coalesce(regexp_matches({text}, {_lit('(?i)' + _OFFSET.pattern)}), FALSE)"
        # Anchored by hand (Spark has no full match): `\z` is the end of the text for
        # both regular-expression engines, where `$` may stop before a final line break.
        whole = "^(?:" + pattern + r")\z"
        shaped = f"coalesce(regexp_matches({text}, {_lit(whole)}), FALSE)"
        local = self._local_time_sql(self._in_format(text, fmt))
        self._confirm_timestamps(col, "ts_present AND ts IS NULL")
        present = f"{_q(col)} IS NOT NULL"
        return [
            f"CASE WHEN {offset} OR NOT {shaped} THEN NULL ELSE {local} END AS ts",
            f"{present} AS ts_present",
            f"({present} AND NOT {offset}) AS ts_naive",
            f"({present} AND {offset}) AS ts_offset",
        ]

    def _in_format(self, text: str, fmt: str) -> str:
        """SQL for the local time the text ``text`` (SQL) gives in the declared format
        ``fmt`` (NULL where it does not read), once :func:`format_pattern` has
        matched it."""
        return f"try_strptime({text}, {_lit(fmt)})"

    def _local_time_sql(self, value: str) -> str:
        """The instant of the local time ``value`` (SQL) in the source's zone.

        A local time that does not exist or occurs twice at a daylight-saving change
        is unreadable (NULL), as for pandas: it does not survive the round trip, or
        the instant one offset change away reads as the same local time (a change of
        an hour, of half an hour at Lord Howe, or any other). Times are checked only
        on the days the zone's offset may change (:mod:`~peakend.loading.duck.zones`);
        every other time is converted once.
        """
        local = self._instant_of(value)
        checked = self._unless_changing(value)
        dates = changing_dates(self.spec.source.timezone)
        if dates is None:
            return checked
        day = f"CAST({value} AS DATE)"
        listed = ", ".join(f"DATE '{d.isoformat()}'" for d in dates) or "NULL"
        known = f"DATE '{FIRST_YEAR}-01-02' AND DATE '{LAST_YEAR}-12-30'"
        near = f"({day} NOT BETWEEN {known} OR {day} IN ({listed}))"
        return f"CASE WHEN {near} THEN {checked} ELSE {local} END"

    def _unless_changing(self, value: str) -> str:
        """The instant of the local time ``value`` (SQL), NULL when it does not exist
        or occurs twice at a daylight-saving change of any size: it does not survive
        the round trip, or the instant one offset change away (a day either side)
        reads as the same local time."""
        local = self._instant_of(value)

        def offset(instant: str) -> str:
            return f"({self._wall_clock(instant)} - {self._utc_clock(instant)})"

        def twice(other: str) -> str:  # the same local time one offset change away
            change = f"({offset(local)} - {offset(other)})"
            same = f"{self._wall_clock(f'{local} + {change}')} = {value}"
            return f"({change} <> INTERVAL 0 SECOND AND {same})"

        before, after = f"{local} - INTERVAL 25 HOUR", f"{local} + INTERVAL 25 HOUR"
        shaky = f"({self._wall_clock(local)} <> {value} OR {twice(before)} OR {twice(after)})"
        return f"CASE WHEN {shaky} THEN NULL ELSE {local} END"

    def _instant_of(self, value: str) -> str:
        """SQL for the instant of the local time ``value`` in the source's zone."""
        return f"timezone({_lit(self.spec.source.timezone)}, {value})"

    def _wall_clock(self, instant: str) -> str:
        """SQL for the local time of ``instant`` in the source's zone."""
        return f"timezone({_lit(self.spec.source.timezone)}, {instant})"

    def _utc_clock(self, instant: str) -> str:
        """SQL for ``instant`` as a time of the same type as :meth:`_wall_clock`'s, in UTC
        (their difference is the zone's offset)."""
        return f"timezone('UTC', {instant})"

    def _shaped_timestamp_sql(self, col: str, shape: str) -> list[str]:
        """The times of a CSV source that all have one shape, with a UTC offset or
        without one (local times in the source's zone).

        ``shape`` is a ``GLOB`` pattern (digits as ``[0-9]``, the offset as
        written, see :func:`timestamp_shape`): a value of that shape is one the text
        path reads as a time with an offset, or as a local time, with the same cast.
        A value of another shape, or one the cast cannot read (30 February), raises:
        the caller then parses every time from text instead. A local time in a
        daylight-saving gap or overlap is NULL, as on the text path, and confirmed
        unreadable by the pandas reader.
        """
        value = _q(col)
        error = _lit(f"a time in {col!r} of another shape than {shape!r}")
        local = local_shape(shape)
        if local:
            read = self._local_time_sql(f"CAST({value} AS TIMESTAMP)")
            self._confirm_timestamps(col, "ts_present AND ts IS NULL")
        else:
            read = f"CAST({value} AS TIMESTAMPTZ)"
        ts = (
            f"CASE WHEN {value} IS NULL THEN NULL WHEN {value} GLOB {_lit(shape)} "
            f"THEN {read} ELSE error({error}) END"
        )
        present = f"{value} IS NOT NULL"
        return [
            f"{ts} AS ts",
            f"{present} AS ts_present",
            f"{present} AS ts_naive" if local else "FALSE AS ts_naive",
            "FALSE AS ts_offset" if local else f"{present} AS ts_offset",
        ]

    def _score_sql(self) -> list[str]:
        col = self.columns.get("score")
        if col is None:
            return ["CAST(NULL AS DOUBLE) AS score_value", "FALSE AS score_bad", "FALSE AS na"]

        na_text = self._na_text_sql(col)
        value, bad = self._number(col)
        if self._kind(col) == "text":
            self._confirm_numbers(col, "score_bad")
        value = f"(CASE WHEN {na_text} THEN NULL ELSE {value} END)"
        bad = f"(NOT ({na_text}) AND {bad})"
        return [f"{value} AS score_value", f"{bad} AS score_bad", f"{na_text} AS na_text"]

    def _na_text_sql(self, col: str) -> str:
        if self._kind(col) != "text":
            return "FALSE"
        tp = self._text_of(self.columns["touchpoint"])
        one = self._one_scale()
        if one is not None:  # every touchpoint's scale: the touchpoint need only be there
            if not one.not_applicable_text:
                return "FALSE"
            codes = [c.lower() for c in one.not_applicable_text]
            return f"({tp} IS NOT NULL AND {_text_lower(col)} IN {_in_list(codes)})"
        cases = []
        for name in self._touchpoint_names():
            scale = self._scale(name)
            if scale is None or not scale.not_applicable_text:
                continue
            codes = [c.lower() for c in scale.not_applicable_text]
            cases.append(f"({tp} = {_lit(name)} AND {_text_lower(col)} IN {_in_list(codes)})")
        return "(" + " OR ".join(cases) + ")" if cases else "FALSE"

    def _scale_table(self) -> None:
        """Table ``scale_of``: the scale of every touchpoint in the data that has one."""
        scales = {n: self._scale(n) for n in self._touchpoint_names()}
        rows = [
            (n, s.low, s.high, s.midpoint, s.reversed, list(s.not_applicable))
            for n, s in scales.items()
            if s is not None
        ]
        self.db.sql(
            "CREATE TABLE scale_of (tp VARCHAR, low DOUBLE, high DOUBLE, neutral DOUBLE, "
            "reversed BOOLEAN, na DOUBLE[])"
        )
        if rows:
            self.db.executemany("INSERT INTO scale_of VALUES (?, ?, ?, ?, ?, ?)", rows)

    def _one_scale(self) -> Scale | None:
        """The scale of every touchpoint, whatever its name, when the spec gives them
        all the same one: a default scale (or the only scale declared) that no
        touchpoint of the catalogue replaces with another. The touchpoint names in
        the data then need not be read (a whole pass over a CSV file)."""
        spec = self.spec
        if spec.default_scale is None:
            return None
        scale = spec.scales[spec.default_scale]
        if any(spec.scale_for(t) is not scale for t in spec.touchpoints):
            return None
        return scale

    def _touchpoint_names(self) -> list[str]:
        """Every touchpoint name in the source (distinct raw values first: few, cheap to strip)."""
        if self._names is None:
            self._names = self._distinct_touchpoints()
        return self._names

    def _distinct_touchpoints(self) -> list[str]:
        column = _q(self.columns["touchpoint"])
        tp = self._text_of(self.columns["touchpoint"])
        # (no WHERE: DuckDB would push it below the inner DISTINCT, onto every row)
        rows = self.db.sql(f"SELECT DISTINCT {tp} FROM (SELECT DISTINCT {column} FROM raw)")
        return sorted(str(r[0]) for r in rows.fetchall() if r[0] is not None)
