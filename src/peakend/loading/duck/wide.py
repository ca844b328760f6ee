"""Wide survey exports (one row per respondent, one column per touchpoint) as SQL.

The export's rows are read once into a table, then turned into events by a view:
one ``SELECT`` per touchpoint in the declared order (and one for a journey-level
comment where one is given), joined by ``UNION ALL``. That view takes the place of
the source for the checks of a long log
(:class:`~peakend.loading.duck.checks.EventChecks`), which build the table of
events, read the scores and their scales and count what each check looks for.

What is particular to a wide export is worded by the pandas loader's own code on
the few rows concerned, so that both loaders always give the same problems and
quarantine: a respondent who answers twice or has no id is checked row by row of
the export, and a score that is unreadable or outside its scale sends its
respondent's row through the pandas loader's wide path, which reports it per
touchpoint column; so do each column's first five not-applicable answers, whose
notes are then counted in SQL. The clean rows, nearly all of them, never reach
pandas.

Each event is numbered ``(row - 1) * n + position + 1``, with ``n`` the positions
of a row (the touchpoints and the comment): a number of its own for every event,
in the export's order, and one more than its sequence number. The scores are text
(a CSV or JSON-lines export) or numbers (Parquet, a database) in every score
column; an export with both kinds goes to the pandas loader.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pandas as pd

from peakend.load import (
    MISSING_RESPONDENT_FIX,
    REPEATED_RESPONDENT_FIX,
    WIDE_COMMENT,
    wide_order,
)
from peakend.loading.duck.base import Unsupported
from peakend.loading.duck.checks import EventChecks
from peakend.loading.duck.sql import _lit, _q
from peakend.validate import ROW, Reason

WIDE = "wide"
"""The table of the export's rows (``raw``, the source's name elsewhere, is the events' view)."""

UNREPEATED = "wide_unrepeated"
"""The view of the export's rows without the repeated respondents' later rows: the
rows outcomes are read from."""

_REPEATED = "wide_repeated"
"""Table of the row numbers of respondents' later rows."""

_ANSWERS = "wide_answers"
"""Table of the columns the events need, of the respondents with an id."""

_FIRST_NOT_APPLICABLE = (
    f"SELECT {ROW} FROM ev WHERE keep AND na "
    f"QUALIFY row_number() OVER (PARTITION BY tp ORDER BY {ROW}) <= 5"
)
"""The first five not-applicable answers of each touchpoint: the rows a note names."""

_TOUCHPOINT, _SEQ, _SCORE, _TEXT = "__touchpoint__", "__seq__", "__score__", "__text__"
"""Columns of the events' view that the export does not have."""


class WideLayout(EventChecks):
    """The events of a wide export, checked as a long log's, with its own row checks."""

    _wide_columns: dict[str, str] = {}  # noqa: RUF012  (replaced, never changed)
    """The spec's columns while the events are read from the view (:meth:`_as_events`)."""

    _wide_types: dict[str, str] = {}  # noqa: RUF012
    """The export's column types (``self.types`` while the events are built is the view's)."""

    _long_columns: dict[str, str] = {}  # noqa: RUF012
    """The columns of the events' view by role (:meth:`_events_view`)."""

    _long_types: dict[str, str] = {}  # noqa: RUF012
    """The types of the events' view's columns."""

    def _wide(self) -> bool:
        return self.spec.layout == "wide"

    def _events(self) -> None:
        if not self._wide():
            super()._events()
            return
        # The export's rows, read once (its name ``raw`` goes to the events' view).
        self.db.sql(f"CREATE TABLE {WIDE} AS SELECT * FROM raw")
        self.db.sql("DROP VIEW raw")
        self._wide_types = dict(self.types)
        self._file_order = False  # the events' numbers are not places in the file
        self._respondent_checks()
        self._events_view()
        with self._as_events():
            super()._events()
        self._outcome_rows_from = UNREPEATED

    def _respondent_checks(self) -> None:
        """Quarantine the rows of respondents seen before and of rows without an id, in
        the pandas loader's order and words (its checks run on those rows only)."""
        column = _q(self.columns["journey_id"])
        later = f"row_number() OVER (PARTITION BY {column} ORDER BY {ROW}) > 1"
        self.db.sql(
            f"CREATE TABLE {_REPEATED} AS SELECT {ROW} FROM {WIDE} "
            f"WHERE {column} IS NOT NULL QUALIFY {later}"
        )
        self.db.sql(
            f"CREATE VIEW {UNREPEATED} AS SELECT * FROM {WIDE} "
            f"WHERE {ROW} NOT IN (SELECT {ROW} FROM {_REPEATED})"
        )
        given = f"{self._text_of(self.columns['journey_id'])} IS NOT NULL"
        repeated = f"{ROW} IN (SELECT {ROW} FROM {_REPEATED})"
        checks = (
            (WIDE, repeated, Reason.DUPLICATE_JOURNEY, REPEATED_RESPONDENT_FIX),
            (UNREPEATED, f"NOT ({given})", Reason.MISSING_VALUE, MISSING_RESPONDENT_FIX),
        )
        for table, where, reason, fix in checks:
            rows = self._rows(table, where)
            mask = pd.Series(True, index=rows.index)
            self._reject(rows, mask, reason, self.columns["journey_id"], fix)

    def _row_length(self) -> int:
        """Positions of a row: each touchpoint's and the comment's."""
        return len(self.spec.touchpoints) + 1

    def _events_view(self) -> None:
        """View ``raw``: the events of the respondents with an id, one ``SELECT`` each
        touchpoint (and comment), in the export's order."""
        touchpoints = wide_order(self.spec.touchpoints)
        score_type = self._score_type([str(t.column) for t in touchpoints])
        self._events_schema(score_type)
        comment = self.columns.get("text")
        self._answers_table([str(t.column) for t in touchpoints], comment)
        parts = [
            self._part(t.name, position, _q(str(t.column)), score_type, t.text_column)
            for position, t in enumerate(touchpoints)
        ]
        if comment is not None:
            part = self._part(WIDE_COMMENT, len(touchpoints), "NULL", score_type, comment)
            parts.append(f"{part} WHERE {self._text_of(comment)} IS NOT NULL")
        union = " UNION ALL ".join(parts)
        self.db.sql(f"CREATE VIEW raw AS SELECT * FROM ({union}) AS events ORDER BY {ROW}")

    def _score_type(self, columns: list[str]) -> str:
        """The SQL type the score ``columns`` are read as: text when all are text (a
        CSV or JSON-lines export), DOUBLE when all are numbers."""
        kinds = {self._kind(c) for c in columns}
        if len(kinds) != 1 or kinds - {"text", "number"}:
            raise Unsupported("score columns of more than one kind (text, numbers)")
        return "VARCHAR" if kinds == {"text"} else "DOUBLE"

    def _events_schema(self, score_type: str) -> None:
        """The roles and types of the events' view's columns (:meth:`_as_events`)."""
        taken = {_TOUCHPOINT, _SEQ, _SCORE, _TEXT} & set(self._wide_types)
        if taken:
            raise Unsupported(f"a column named {sorted(taken)[0]}")
        carried = self._carried()
        columns = {r: c for r, c in self.columns.items() if c in carried}
        columns |= {"touchpoint": _TOUCHPOINT, "seq": _SEQ, "score": _SCORE}
        types = {ROW: "BIGINT", **{c: self._wide_types[c] for c in carried}}
        types |= {_TOUCHPOINT: "VARCHAR", _SEQ: "BIGINT", _SCORE: score_type}
        if self._texts():
            columns["text"], types[_TEXT] = _TEXT, "VARCHAR"
        self._long_columns, self._long_types = columns, types

    def _answers_table(self, scores: list[str], comment: str | None) -> None:
        """Table of the columns the events need (ids, scores, texts), of the
        respondents with an id: read from the export once (each part reading the
        source would read and parse the whole file again)."""
        texts = [str(t.text_column) for t in self.spec.touchpoints if t.text_column]
        needed = [*self._carried(), *scores, *texts, *([comment] if comment else [])]
        read = ", ".join(_q(c) for c in dict.fromkeys(needed))
        given = f"{self._text_of(self.columns['journey_id'])} IS NOT NULL"
        self.db.sql(
            f"CREATE TABLE {_ANSWERS} AS SELECT {ROW}, {read} FROM {UNREPEATED} WHERE {given}"
        )

    def _texts(self) -> bool:
        """Whether any event has a text (a touchpoint's comment column or the journey's)."""
        return "text" in self.columns or any(t.text_column for t in self.spec.touchpoints)

    def _carried(self) -> list[str]:
        """The export's columns every event carries: the respondent's id and customer."""
        roles = ("journey_id", "customer_id")
        return list(dict.fromkeys(self.columns[r] for r in roles if r in self.columns))

    def _part(self, name: str, position: int, score: str, score_type: str, text: str | None) -> str:
        """The ``SELECT`` of one position's events: touchpoint ``name`` scored by the
        SQL ``score`` (as ``score_type``), with the text of column ``text``."""
        n = self._row_length()
        seq = f"({ROW} - 1) * {n} + {position}"
        carried = ", ".join(_q(c) for c in self._carried())
        values = [
            f"{seq} + 1 AS {ROW}",
            carried,
            f"{_lit(name)} AS {_TOUCHPOINT}",
            f"CAST({seq} AS BIGINT) AS {_SEQ}",
            f"CAST({score} AS {score_type}) AS {_SCORE}",
        ]
        if self._texts():
            values.append(f"CAST({_q(text) if text else 'NULL'} AS VARCHAR) AS {_TEXT}")
        return f"SELECT {', '.join(values)} FROM {_ANSWERS}"

    @contextmanager
    def _as_events(self) -> Iterator[None]:
        """The events' view as the source: its columns and types in place of the
        export's while the checks of a long log run."""
        self._wide_columns, saved = dict(self.columns), self.types
        self.columns, self.types = self._long_columns, self._long_types
        try:
            yield
        finally:
            self.columns, self.types = self._wide_columns, saved

    @contextmanager
    def _as_export(self) -> Iterator[None]:
        """The export's columns and types again (for the pandas loader's wide path)."""
        events = self.columns, self.types
        self.columns, self.types = self._wide_columns, self._wide_types
        try:
            yield
        finally:
            self.columns, self.types = events

    def _numbered_later(self) -> bool:
        return False if self._wide() else super()._numbered_later()

    def _in_place(self) -> bool:
        return False if self._wide() else super()._in_place()

    def _rows_read(self) -> int:
        return self._count(WIDE, "TRUE") if self._wide() else super()._rows_read()

    def _event_checks(self) -> None:
        if not self._wide():
            super()._event_checks()
            return
        self._unscaled_check()
        outside = self._outside()
        flagged = f"keep AND (score_bad OR ({outside}))"
        if self._count("ev", flagged) or self._count("ev", "keep AND na"):
            n = self._row_length()
            rows = f"SELECT ({ROW} - 1) // {n} + 1 FROM ev WHERE {flagged}"
            rows += f" UNION SELECT ({ROW} - 1) // {n} + 1 FROM ({_FIRST_NOT_APPLICABLE})"
            first = len(self.report.problems)
            with self._as_export():
                frame = self._rows(WIDE, f"{ROW} IN ({rows})")
                self._events_from_wide(frame)  # (its problems; the events are in ev)
            self._count_not_applicable(first)
        self._drop("score_bad")
        self._drop(outside)

    def _count_not_applicable(self, first: int) -> None:
        """Give the notes of not-applicable answers from :attr:`report.problems`
        ``[first:]`` their counts over every event: the pandas loader worded them from
        each column's first five rows only (a not-applicable answer is common: sending
        every row with one to pandas cost more than the pandas loader)."""
        columns = {t.name: str(t.column) for t in self.spec.touchpoints}
        counts: dict[str, int] = {}
        found = self.db.sql("SELECT tp, count(*) FROM ev WHERE keep AND na GROUP BY tp")
        for tp, count in found.fetchall():
            column = columns[str(tp)]
            counts[column] = counts.get(column, 0) + int(count)
        problems = self.report.problems
        for i in range(first, len(problems)):
            if problems[i].reason == Reason.NOT_APPLICABLE and problems[i].column in counts:
                problems[i] = replace(problems[i], count=counts[str(problems[i].column)])
