"""The touchpoint catalogue of the kept events and its check against the spec."""

from __future__ import annotations

import pyarrow as pa

from peakend.loading.duck.base import DuckBase
from peakend.validate import ROW, Problem, Reason, Severity


class Catalogue(DuckBase):
    """The touchpoints seen, their usual initiator, and those the spec does not declare."""

    def _touchpoint_counts(self) -> list[tuple[str, str | None, int, int]]:
        """(touchpoint, initiator, events, first row) of the kept events, from one
        aggregate shared by the catalogue check and the catalogue."""
        if self._tp_counts is None:
            rows = self.db.sql(
                f"SELECT tp, initiated_by, count(*), min({ROW}) FROM ev_final GROUP BY ALL"
            ).fetchall()
            self._tp_counts = [
                (str(tp), None if who is None else str(who), int(n), int(first))
                for tp, who, n, first in rows
            ]
        return self._tp_counts

    def _check_catalogue_sql(self) -> None:
        if not self.spec.touchpoints:
            return
        declared = {t.name for t in self.spec.touchpoints} | {"comment"}
        unknown = [r for r in self._touchpoint_counts() if r[0] not in declared]
        count = sum(n for _, _, n, _ in unknown)
        if count:
            names = _by_first_row(unknown)
            self._add(
                Problem(
                    Reason.UNKNOWN_TOUCHPOINT,
                    Severity.INFO,
                    self.label,
                    self.columns.get("touchpoint"),
                    count,
                    example=", ".join(sorted(names, key=names.__getitem__)[:5]),
                    fix="add them to [[touchpoints]] to give them a stage, cost and initiator",
                )
            )

    def _catalogue_sql(self) -> pa.Table:
        counts = self._touchpoint_counts()
        firsts = _by_first_row(counts)
        totals: dict[str, int] = {}
        for tp, _, n, _ in counts:
            totals[tp] = totals.get(tp, 0) + n
        seen = sorted(totals, key=lambda tp: (-totals[tp], firsts[tp]))
        pairs = sorted((r for r in counts if r[1] is not None), key=lambda r: (-r[2], r[3]))
        usual: dict[str, str] = {}
        for touchpoint, initiator, _, _ in pairs:
            assert initiator is not None
            usual.setdefault(touchpoint, initiator)
        return self._catalogue_table(seen, usual)


def _by_first_row(counts: list[tuple[str, str | None, int, int]]) -> dict[str, int]:
    """Each touchpoint's first row over every initiator it has."""
    firsts: dict[str, int] = {}
    for tp, _, _, first in counts:
        firsts[tp] = min(first, firsts.get(tp, first))
    return firsts
