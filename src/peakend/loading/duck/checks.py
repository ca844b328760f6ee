"""The checks of every event column and the count pass.

The events are parsed, stripped and checked in one pass into one table (``ev``)
that also holds their canonical values; a Parquet source with typed times and
numbers has nothing to parse, so ``ev`` is a view over the file instead
(:meth:`EventChecks._in_place`). One aggregate counts the events every check looks
for (:meth:`EventChecks._count_checks`): only the checks that find something query
their rows.
"""

from __future__ import annotations

import re

import pandas as pd

from peakend.errors import ConfigError
from peakend.loading.duck.base import _EMPTY
from peakend.loading.duck.canonical import CanonicalEvents
from peakend.loading.duck.columns import _TEXT_ROLES, ColumnValues, local_shape, timestamp_shape
from peakend.loading.duck.duplicates import group_journeys
from peakend.loading.duck.source import SourceReading
from peakend.loading.duck.sql import _changed_by_text, _in_list, _lit, _q
from peakend.schema import INITIATORS
from peakend.validate import ROW, Reason, Severity

_UNPARSABLE = "ts_present AND ts IS NULL"
_NAIVE = f"ts_naive AND NOT ({_UNPARSABLE})"


#: The column of table ``ev`` holding a role whose name differs from it.
_STORED = {"journey_id": "jid", "touchpoint": "tp"}


class EventChecks(ColumnValues, SourceReading, CanonicalEvents):
    """Builds the events with their check flags and runs the checks in the pandas loader's order."""

    def _events(self) -> None:
        clean = self._clean_text_columns()
        later = self._numbered_later()
        few = self._few_valued_text() - clean
        self._build_events(clean | few, later)
        dirty = self._stored_need_stripping(few)
        if dirty:
            # A value of those columns needs stripping after all: built again,
            # stripping them value by value (the problems are worded as always).
            self.db.sql("DROP TABLE ev")
            self._confirms.clear()
            self._build_events(clean | (few - dirty), later)
        if self.counts_first:
            self._count_checks()
            if self._needs_stripping():
                # An identifier read as it is needs stripping after all: the view
                # strips those columns at every read, and the counts are made again.
                dirty, self._unverified = self._needs_stripping(), frozenset()
                self._confirms.clear()
                self._ev_query = self._event_query(clean - dirty, later, "raw")
                self._define_view("TRUE")
                self._count_checks()
        self._run_confirms()
        self._event_checks()
        self._final_view()

    def _build_events(self, clean: set[str], later: bool) -> None:
        """The events with their check flags (table or view ``ev``), with the text
        columns in ``clean`` read as they are."""
        typed = self._typed_numbers() if later else set()
        if not (typed and self._typed_events(clean, typed)):
            self._store_events(self._event_query(clean, later, "raw_cells" if later else "raw"))

    def _few_valued_text(self) -> set[str]:
        """The text columns of a CSV source with few distinct values (touchpoint,
        channel, initiator, language), read as the reader gives them and checked
        afterwards, in the stored table, by their distinct values
        (:meth:`_stored_need_stripping`).

        Stripping each of ten million values cost about a CPU second at 10M events;
        checking the few distinct values of the stored columns costs a fraction.
        """
        if self.spec.source.format != "csv":
            return set()
        roles = ("touchpoint", "channel", "initiated_by", "lang")
        return {self.columns[r] for r in roles if r in self.columns}

    def _stored_need_stripping(self, columns: set[str]) -> set[str]:
        """Those of ``columns`` (read as they are into table ``ev``) with a distinct
        value that stripping changes or that is blank."""
        stored = {c: _STORED.get(r, r) for r, c in self.columns.items() if c in columns}
        if not stored:
            return set()
        distinct = " UNION ALL ".join(
            f"SELECT DISTINCT {_lit(c)} AS c, {name} AS v FROM ev" for c, name in stored.items()
        )
        rows = self.db.sql(
            f"SELECT c FROM ({distinct}) GROUP BY c "
            f"HAVING count(*) FILTER (WHERE {_changed_by_text('v')}) > 0"
        ).fetchall()
        return {str(r[0]) for r in rows}

    def _typed_numbers(self) -> set[str]:
        """The number columns of a CSV source that can be read as numbers first.

        Only where the reader's parse is the text path's: not with a decimal comma,
        and a score only when no scale names a not-applicable answer in words (such
        a code is compared as text).
        """
        if not (self.typed_csv and self._csv_read):
            return set()
        if self.spec.source.decimal != ".":
            return set()
        roles = ["seq", "valence"]
        one = self._one_scale()
        if one is not None and not one.not_applicable_text:
            roles.append("score")
        return {self.columns[r] for r in roles if r in self.columns}

    def _typed_events(self, clean: set[str], typed: set[str]) -> bool:
        """The table of events from the CSV source read with ``typed`` as numbers, and
        the times, when all have the first one's shape, without a regular expression.

        Most files are clean: their numbers need not be read as text and parsed
        again, nor each time searched for an offset. Returns False, leaving nothing
        behind, when DuckDB's reader finds a value it cannot read as a number or a
        time of another shape: the text path then parses every value and words the
        problems and the quarantine as always. When the first time is a local time
        and a later one has another shape, the numbers are still read typed and only
        the times from text.
        """
        shape = self._first_time_shape()
        if self._typed_attempt(clean, typed, shape):
            return True
        local = shape is not None and local_shape(shape)
        return local and self._typed_attempt(clean, typed, None)

    def _typed_attempt(self, clean: set[str], typed: set[str], shape: str | None) -> bool:
        """:meth:`_typed_events` with the times of ``shape`` (None: from text)."""
        import duckdb

        try:
            source = self._typed_cells(typed, self._stripped_columns(clean))
            self._typed = frozenset(typed)
            self._ts_shape = shape
            self._store_events(self._event_query(clean, True, source))
        except (duckdb.ConversionException, duckdb.InvalidInputException):
            self._unordered()
            self.db.sql("DROP TABLE IF EXISTS ev")
            self._confirms.clear()
            return False
        finally:
            self._typed, self._ts_shape = frozenset(), None
        self._typed_read = True
        return True

    def _stripped_columns(self, clean: set[str]) -> set[str]:
        """The columns the events' query strips in every use, the text columns in
        ``clean`` (read as they are) left out (:meth:`_event_query`)."""
        stripped = {self.columns[r] for r in _TEXT_ROLES if r in self.columns}
        other = {c for r, c in self.columns.items() if r not in _TEXT_ROLES}
        return stripped - other - clean

    def _first_time_shape(self) -> str | None:
        """The shape of the source's first time, when every time may have it
        (:func:`~peakend.loading.duck.columns.timestamp_shape`)."""
        if "ts" not in self.columns or self.spec.source.timestamp_format:
            return None
        column = _q(self.columns["ts"])
        first = self.db.sql(f"SELECT {column} FROM raw_cells WHERE {column} IS NOT NULL LIMIT 1")
        rows = first.fetchall()
        return timestamp_shape(str(rows[0][0])) if rows else None

    def _event_query(self, clean: set[str], later: bool, source: str) -> str:
        """The query of the events with their check flags and canonical values."""
        cols = self.columns

        def text(column: str) -> str:
            value = self._text_of(column)  # (checks the type in every case)
            return _q(column) if column in clean else value

        select = [f"CAST(NULL AS BIGINT) AS {ROW}" if later else ROW]
        for role in _TEXT_ROLES:
            value = text(cols[role]) if role in cols else "CAST(NULL AS VARCHAR)"
            select.append(f"{value} AS {_STORED.get(role, role)}")
        if "seq" in cols:
            value, bad = self._number(cols["seq"])
            self._confirm_numbers(cols["seq"], "seq_value IS NULL")
            select += [f"{value} AS seq_value", f"({bad} OR {value} IS NULL) AS seq_bad"]
        else:
            position = "CAST(NULL AS DOUBLE)" if later else f"CAST({ROW} - 1 AS DOUBLE)"
            select += [f"{position} AS seq_value", "FALSE AS seq_bad"]
        select += self._timestamp_sql()
        select += self._score_sql()
        if "valence" in cols:
            value, bad = self._number(cols["valence"])
            self._confirm_numbers(cols["valence"], "valence_given IS NULL")
            outside = f"({value} IS NOT NULL AND ({value} < -1 OR {value} > 1))"
            select += [f"{value} AS valence_given", f"({bad} OR {outside}) AS valence_bad"]
        select.append("TRUE AS keep")
        events = f"SELECT {', '.join(select)} FROM {source}"
        if "score" in cols:
            events = self._with_scales(events)
        return self._with_finals(events)

    def _store_events(self, query: str) -> None:
        """Table ``ev`` of the events ``query`` gives, or a view when the source is a
        typed Parquet file (:meth:`_in_place`)."""
        if self._in_place():
            # Nothing to parse: the events stay a view over the source, and the rows a
            # check drops are listed in ``ev_dropped`` (writing ten million checked
            # events into a table cost more CPU time than every check together).
            self._view = True
            self._ev_query = query
            self.db.sql(f"CREATE TABLE ev_dropped ({ROW} BIGINT)")
            self._define_view("TRUE")
        else:
            # In the file's order: the engine sums over the events as stored, and the
            # same order gives the same sums, to the last digit, from run to run.
            self.db.execute("SET preserve_insertion_order = true")
            self.db.sql(f"CREATE TABLE ev AS {query}")
            if self._numbered_later():
                self._number_rows()
            self._unordered()

    def _numbered_later(self) -> bool:
        """Whether the table of events is read from a CSV file in parallel and its rows
        numbered afterwards (:meth:`_number_rows`).

        The view ``raw`` numbers a CSV file's rows with ``row_number() OVER ()``,
        which DuckDB computes on one thread: the read, the parsing and every check
        behind it then ran on one core. Read through ``raw_cells`` instead, the rows
        are parsed and checked by every thread and stored in the file's order
        (``preserve_insertion_order``), so each row's place in the table is its
        place in the file. Only when the scales are joined to the events by
        touchpoint (several scales), or the row numbers are the journey ids
        (:meth:`_numbered_ids`), do the rows keep the numbering of ``raw``.
        """
        one_scale = "score" not in self.columns or self._one_scale() is not None
        return self._file_order and one_scale and not self._numbered_ids()

    def _number_rows(self) -> None:
        """Number the rows of the table of events by their place in it (the file's
        order, see :meth:`_numbered_later`)."""
        position = "" if "seq" in self.columns else ", seq_value = CAST(rowid AS DOUBLE)"
        self.db.sql(f"UPDATE ev SET {ROW} = rowid + 1{position}")

    def _check_conditions(self) -> list[str]:
        """Every condition the checks count or quarantine by (the strings they use)."""
        found = ["TRUE", "seq_bad", "jid IS NULL", "tp IS NULL", _UNPARSABLE, _NAIVE]
        found += ["ts_offset AND ts IS NOT NULL", "NOT ts_present", "ts IS NOT NULL"]
        if "initiated_by" in self.columns:
            found.append(self._initiator_bad())
        if "score" in self.columns:
            found += ["score_bad", self._unscaled(), self._outside(), "na"]
        if "valence" in self.columns:
            found.append("valence_bad")
        found += [flag for _, flag, _ in self._confirms]
        return list(dict.fromkeys(found))

    def _unverified_conditions(self) -> dict[str, str]:
        """For each identifier column read as it is but not yet checked
        (:attr:`_unverified`), the condition of its values that stripping would change,
        over the column of ``ev`` that holds it."""
        found = {}
        for role, column in self.columns.items():
            if column in self._unverified:
                name = _STORED.get(role, role)
                found[column] = _changed_by_text(name)
        return found

    def _needs_stripping(self) -> set[str]:
        """The columns of :attr:`_unverified` in which the count pass found a value
        that stripping changes or that is blank."""
        return {c for c, where in self._unverified_conditions().items() if self._counts[where]}

    def _count_checks(self) -> None:
        """Count the events every check looks for, in one pass over the events.

        Until a row is dropped, these are the counts the checks would query one by
        one (:meth:`_known`): a check that finds nothing then runs no query, and on
        clean data the whole validation reads the events once. The values of the
        columns often left empty are counted too (:meth:`_event_source`).
        """
        conditions = self._check_conditions()
        unverified = self._unverified_conditions()
        journey_ids = unverified.pop(self.columns["journey_id"], None)
        conditions += list(unverified.values())
        same = self._same_conditions()
        counts = [_count_sql(same.get(c, c)) for c in conditions]
        counts += [f"count({c})" for c in _EMPTY]
        row = self.db.sql(f"SELECT {', '.join(counts)} FROM ev").fetchall()[0]
        values = [int(n) for n in row]
        self._counts = dict(zip(conditions, values, strict=False))
        self._filled = {"TRUE": self._counts["TRUE"]}
        self._filled |= dict(zip(_EMPTY, values[len(conditions) :], strict=True))
        self._grouped = False
        if journey_ids is not None:
            self._counts[journey_ids] = self._journey_ids_changed(journey_ids)

    def _same_conditions(self) -> dict[str, str]:
        """Conditions of the count pass with an equivalent one that is a column's
        nulls (or nothing), by the way the events' query builds the flags.

        A flag of bad sequences is a missing sequence value; the time flags of a
        typed time (a Parquet instant) or of times of one shape are its nulls
        (:attr:`_ts_by_nulls`). Counted as nulls (:func:`_count_sql`), DuckDB
        answers them from the statistics of the file or the table instead of
        reading ten million values.
        """
        same = {"seq_bad": "seq_value IS NULL"} if "seq" in self.columns else {}
        if "ts" in self.columns and self._ts_by_nulls:
            same |= {_UNPARSABLE: "FALSE", _NAIVE: "FALSE", "NOT ts_present": "ts IS NULL"}
            same["ts_offset AND ts IS NOT NULL"] = "ts IS NOT NULL"
        if self._initiators_allowed():
            same[self._initiator_bad()] = "FALSE"
        return same

    def _initiators_allowed(self) -> bool:
        """Whether every distinct initiator of the events is allowed (or missing), when
        the column is read as it is from Parquet dictionaries
        (:attr:`~peakend.loading.duck.columns.ColumnValues._from_dictionaries`).

        DuckDB finds the few distinct values from the dictionaries: 0.05 CPU seconds
        at ten million events, against 0.1-0.15 for testing every event's initiator in
        the count pass. (False when one is not allowed: the count pass counts them.)
        """
        column = self.columns.get("initiated_by")
        if column is None or column not in self._from_dictionaries:
            return False
        bad = f"count(*) FILTER (WHERE {self._initiator_bad()})"
        return not self._scalar(f"SELECT {bad} FROM (SELECT DISTINCT initiated_by FROM ev)")

    def _journey_ids_changed(self, condition: str) -> int:
        """Whether journey ids read as they are need stripping (``condition``): nonzero
        when one does.

        When the counts show that no check drops an event, the duplicate search's
        table of journeys (:func:`~peakend.loading.duck.duplicates.group_journeys`)
        is built now, over the same events, and the condition tested on its distinct
        ids (a million at 10M events instead of ten million values); the duplicate
        search then reuses the table. Otherwise the ids are tested event by event.
        """
        if not self._drops_nothing():
            return self._scalar(f"SELECT count(*) FILTER (WHERE {condition}) FROM ev")
        rows = self._filled["TRUE"]  # (numbered 1 to rows)
        group_journeys(self.db, "ev", in_order=self.streams_in_order, last_row=rows)
        self._grouped = True
        return self._count("key_groups", condition)

    def _drops_nothing(self) -> bool:
        """Whether the counts show that no check of :meth:`_event_checks` drops an event."""
        dropping = ["seq_bad", "jid IS NULL", "tp IS NULL", _UNPARSABLE, "valence_bad"]
        if "initiated_by" in self.columns:
            dropping.append(self._initiator_bad())
        if "score" in self.columns:
            dropping += ["score_bad", self._unscaled(), self._outside()]
        return not any(self._counts.get(c) for c in dropping)

    def _event_checks(self) -> None:
        cols = self.columns
        if "seq" in cols:
            self._reject_sql(
                "keep AND seq_bad",
                Reason.MISSING_VALUE,
                cols["seq"],
                "give every row a whole-number sequence",
            )
            self._drop("seq_bad")
        for role, name in (("journey_id", "jid"), ("touchpoint", "tp")):
            fix = f"fill in the {role.replace('_', ' ')} or remove the row"
            self._reject_sql(f"keep AND {name} IS NULL", Reason.MISSING_VALUE, cols[role], fix)
            self._drop(f"{name} IS NULL")
        if "ts" in cols:
            self._timestamp_checks(cols["ts"])
        self._initiator_checks()
        if "score" in cols:
            self._score_checks(cols["score"])
        if "valence" in cols:
            self._reject_sql(
                "keep AND valence_bad",
                Reason.BAD_VALUE,
                cols["valence"],
                "valence must be a number in [-1, 1]",
            )
            self._drop("valence_bad")

    def _timestamp_checks(self, col: str) -> None:
        fix = (
            "write ISO 8601 (2024-03-31T14:05:00+02:00) or set `timestamp_format` in [source] "
            '(e.g. "%d-%m-%Y %H:%M")'
        )
        unparsable = _UNPARSABLE
        self._reject_sql(f"keep AND {unparsable}", Reason.BAD_TIMESTAMP, col, fix)
        naive = f"keep AND {_NAIVE}"
        if self._count("ev", naive):
            mixed = bool(self._count("ev", "keep AND ts_offset AND ts IS NOT NULL"))
            self._note_sql(
                naive,
                Reason.MIXED_TIMEZONES if mixed else Reason.TIMEZONE_ASSUMED,
                Severity.WARNING if mixed else Severity.INFO,
                col,
                f"read as local time in {self.spec.source.timezone!r} and converted to UTC; "
                "set `timezone` in [source] if that zone is wrong",
            )
        self._note_sql(
            "keep AND NOT ts_present",
            Reason.MISSING_VALUE,
            Severity.WARNING,
            col,
            "events without a time keep their place by sequence but have no duration",
        )
        self._drop(unparsable)

    def _initiator_checks(self) -> None:
        if "initiated_by" in self.columns:
            bad = self._initiator_bad()
            if self._reject_sql(
                f"keep AND {bad}",
                Reason.BAD_VALUE,
                self.columns["initiated_by"],
                "use 'customer' or 'company'",
            ):
                self._drop(bad)

    def _initiator_bad(self) -> str:
        allowed = _in_list(list(INITIATORS))
        return f"initiated_by IS NOT NULL AND lower(initiated_by) NOT IN {allowed}"

    def _unscaled(self) -> str:
        """Events with a score and no scale."""
        return f"score_value IS NOT NULL AND NOT {self._scale_term('scaled')}"

    def _outside(self) -> str:
        """Events with a score outside their scale."""
        low, high = self._scale_term("low"), self._scale_term("high")
        return (
            f"score_value IS NOT NULL AND NOT na AND (score_value < {low} OR score_value > {high})"
        )

    def _score_checks(self, col: str) -> None:
        bad_values = (
            [
                r[0]
                for r in self.db.sql(
                    f"SELECT {_q(col)} FROM raw WHERE {ROW} IN "
                    f"(SELECT {ROW} FROM ev WHERE keep AND score_bad) ORDER BY {ROW}"
                ).fetchall()
            ]
            if self._known("score_bad") != 0
            else []
        )
        if bad_values:
            fix = self._bad_score_fix(pd.Series(bad_values, dtype="object"))
            self._reject_sql("keep AND score_bad", Reason.BAD_SCORE, col, fix)
            self._drop("score_bad")
        self._unscaled_check()
        outside = self._outside()
        self._reject_sql(
            f"keep AND {outside}",
            Reason.SCORE_OUT_OF_SCALE,
            col,
            "correct the score, or declare the scale (low/high/not_applicable) in [scales]",
        )
        self._note_sql(
            "keep AND na",
            Reason.NOT_APPLICABLE,
            Severity.INFO,
            col,
            "nothing to fix: these answers count as 'not applicable', not as low scores",
        )
        self._drop(outside)

    def _unscaled_check(self) -> None:
        """Scores of touchpoints without a scale are a mistake in the spec: say which."""
        scored = (
            self.db.sql(f"SELECT DISTINCT tp FROM ev WHERE keep AND {self._unscaled()}").fetchall()
            if self._known(self._unscaled()) != 0
            else []
        )
        unscaled = sorted(str(r[0]) for r in scored)
        if unscaled:
            raise ConfigError(
                f"{self.label}: scores found for touchpoint(s) without a declared scale: "
                f"{', '.join(unscaled[:5])}. Declare one under [scales] (e.g. [scales.csat] "
                "low = 1, high = 5) and set `default_scale` or the touchpoint's `scale`."
            )


_NULLS = re.compile(r"(\w+) IS (NOT )?NULL")


def _count_sql(condition: str) -> str:
    """The aggregate counting the events where ``condition`` holds.

    A column's nulls or values are counted with ``count(column)``, which DuckDB
    answers from a Parquet file's statistics (a filter reads every value: 0.1-0.25
    CPU seconds a column at ten million events); FALSE counts nothing.
    """
    if condition == "FALSE":
        return "0"
    nulls = _NULLS.fullmatch(condition)
    if nulls is None:
        return f"count(*) FILTER (WHERE {condition})"
    column, values = nulls.groups()
    return f"count({column})" if values else f"count(*) - count({column})"
