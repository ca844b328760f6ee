"""Problems and the quarantine: the rows a check finds are read back as the
source gave them and worded by the pandas loader's code; the rows it drops are
flagged (a table) or listed in ``ev_dropped`` (a view).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from peakend.loading.duck.base import DuckBase, Unsupported
from peakend.loading.duck.sql import _q
from peakend.validate import ROW, Problem, Reason, Severity, parse_numbers, parse_timestamps

_LISTED = 10_000
"""At most this many dropped events of a view over the source are left out by their
row numbers written into its condition (:meth:`ProblemRecording._not_dropped`)."""


class ProblemRecording(DuckBase):
    """Quarantines, notes and drops the events a check finds."""

    def _reject_sql(self, where: str, reason: Reason, column: str | None, fix: str) -> bool:
        """Quarantine the events where ``where`` holds; whether there were any."""
        if self._known(where) == 0:
            return False
        frame = self._bad_rows(where)
        if not frame.empty:
            self._reject(frame, pd.Series(True, index=frame.index), reason, column, fix)
        return not frame.empty

    def _note_sql(
        self, where: str, reason: Reason, severity: Severity, column: str | None, fix: str
    ) -> None:
        count = self._count("ev", where)
        if not count:
            return
        first = self._bad_rows(where, limit=5)
        self._note(first, pd.Series(True, index=first.index), reason, severity, column, fix)
        problem = self.report.problems[-1]
        self.report.problems[-1] = Problem(
            problem.reason,
            problem.severity,
            problem.source,
            problem.column,
            count,
            problem.rows,
            problem.example,
            problem.fix,
        )

    def _drop(self, where: str) -> None:
        if self._known(where) == 0:
            return
        self._counts = {}  # counted before this drop
        if self._view:
            self.db.sql(f"INSERT INTO ev_dropped SELECT {ROW} FROM ev WHERE keep AND ({where})")
            self._define_view(self._not_dropped())
        else:
            self.db.sql(f"UPDATE ev SET keep = FALSE WHERE keep AND ({where})")

    def _not_dropped(self) -> str:
        """The condition of the events not listed in ``ev_dropped``: their row numbers
        written into it when there are few, else a join with that table.

        A join gives the rows in no set order; a condition keeps the source's order,
        so events already in the canonical order are read into memory without a sort
        (:meth:`~peakend.loading.events.EventSource.to_arrow`). A pass over the view
        costs the same either way (docs/scale.md).
        """
        dropped = self.db.sql(
            f"SELECT {ROW} FROM ev_dropped ORDER BY {ROW} LIMIT {_LISTED + 1}"
        ).fetchall()
        if len(dropped) > _LISTED:
            return f"{ROW} NOT IN (SELECT {ROW} FROM ev_dropped)"
        return f"{ROW} NOT IN ({', '.join(str(int(r)) for (r,) in dropped)})"

    def _define_view(self, keep: str) -> None:
        """View ``ev`` over the source, with ``keep`` as the flag of the kept events."""
        self.db.sql(
            f"CREATE OR REPLACE VIEW ev AS SELECT * REPLACE ({keep} AS keep) FROM "
            f"({self._ev_query}) AS checked"
        )

    def _kept(self) -> int:
        """How many events are kept."""
        if self._view:
            return self._filled["TRUE"] - self._count("ev_dropped", "TRUE")
        return self._count("ev", "keep")

    def _confirm_unreadable(self, column: str, flag: str, pandas_parse: Callable[..., Any]) -> None:
        """Values SQL cannot read must be unreadable for pandas too, or pandas loads instead.

        ``flag`` is a condition over table ``ev`` (which holds each parse's result),
        checked once the table exists (:meth:`_run_confirms`): the values are not
        parsed a second time.
        """
        self._confirms.append((column, flag, pandas_parse))

    def _run_confirms(self) -> None:
        for column, flag, pandas_parse in self._confirms:
            if self._known(flag) == 0:
                continue
            values = self.db.sql(
                f"SELECT {_q(column)} FROM raw WHERE {_q(column)} IS NOT NULL "
                f"AND {ROW} IN (SELECT {ROW} FROM ev WHERE {flag})"
            ).fetchall()
            if values and pandas_parse(pd.Series([v[0] for v in values], dtype="object")):
                raise Unsupported(f"values in {column!r} that pandas reads and DuckDB does not")
        self._confirms.clear()

    def _confirm_numbers(self, column: str, flag: str) -> None:
        if self._kind(column) != "text":
            return  # typed numbers: nothing SQL could not read
        decimal = self.spec.source.decimal

        def readable(values: pd.Series) -> bool:
            numbers, _ = parse_numbers(values, decimal=decimal)
            return bool(numbers.notna().any())

        self._confirm_unreadable(column, flag, readable)

    def _confirm_timestamps(self, column: str, flag: str) -> None:
        zone = self.spec.source.timezone

        def readable(values: pd.Series) -> bool:
            parsed = parse_timestamps(values, timezone=zone, fmt=self.spec.source.timestamp_format)
            return bool(parsed.values.notna().any())

        self._confirm_unreadable(column, flag, readable)
