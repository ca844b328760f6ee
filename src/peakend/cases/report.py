"""How well cases are handled: time to first response, time to close, share on time.

Each figure comes with its 95 % interval and the number of cases behind it:
medians of hours with the distribution-free order-statistic interval (the
binomial ranks around the median; exact coverage of at least 95 %, no
resampling, so a page can show it at once), the share closed within the target
with a Wilson interval. Below :data:`MIN_CASES` a median's bounds are NaN
(shown as "not enough cases").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy import stats

from peakend.cases.store import Case, CaseTimes
from peakend.stats.resampling import Interval, wilson

MIN_CASES = 6
"""Below this the order-statistic interval cannot reach 95 % coverage."""


@dataclass(frozen=True)
class CaseReport:
    """Case handling figures; ``None`` where there are no cases to measure."""

    n_cases: int
    n_open: int
    n_escalated: int
    n_overdue: int
    hours_to_first_response: Interval | None
    hours_to_close: Interval | None
    closed_within_target: Interval | None
    computed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        def figure(value: Interval | None) -> dict[str, Any] | None:
            if value is None:
                return None
            return {
                k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in value.to_dict().items()
            }

        return {
            "n_cases": self.n_cases,
            "n_open": self.n_open,
            "n_escalated": self.n_escalated,
            "n_overdue": self.n_overdue,
            "hours_to_first_response": figure(self.hours_to_first_response),
            "hours_to_close": figure(self.hours_to_close),
            "closed_within_target": figure(self.closed_within_target),
            "computed_at": self.computed_at.isoformat(),
        }


def median_hours(hours: Sequence[float], level: float = 0.95) -> Interval | None:
    """The median with its order-statistic interval (NaN bounds below :data:`MIN_CASES`).

    The interval runs from the ``j``-th to the ``k``-th smallest value, with ``j``
    and ``k`` the binomial(n, ½) quantiles, so it covers the true median with at
    least ``level`` probability whatever the distribution of times.
    """
    if not hours:
        return None
    values = np.sort(np.asarray(hours, dtype=np.float64))
    n = int(values.size)
    value = float(np.median(values))
    if n < MIN_CASES:
        return Interval(value, math.nan, math.nan, n)
    j = int(stats.binom.ppf((1 - level) / 2, n, 0.5))  # 0-based: the (j+1)-th smallest
    j = max(0, j - 1) if stats.binom.cdf(j, n, 0.5) > (1 - level) / 2 else j
    k = n - 1 - j
    return Interval(value, float(values[j]), float(values[k]), n)


def case_report(
    cases: Sequence[Case] | Sequence[CaseTimes], *, now: datetime | None = None
) -> CaseReport:
    """The figures for ``cases`` (those a user may see)."""
    now = now or datetime.now(UTC)

    def hours(start: datetime, end: datetime) -> float:
        return (end - start).total_seconds() / 3600

    first = [hours(c.opened_at, c.first_response_at) for c in cases if c.first_response_at]
    closed = [c for c in cases if c.status == "closed" and c.closed_at is not None]
    to_close = [hours(c.opened_at, c.closed_at) for c in closed if c.closed_at]
    # A case counts once its fate is known: closed, or past due and still open.
    decided = [c for c in cases if c.status == "closed" or c.due_at < now]
    on_time = sum(1 for c in closed if c.closed_at is not None and c.closed_at <= c.due_at)
    return CaseReport(
        n_cases=len(cases),
        n_open=sum(c.status != "closed" for c in cases),
        n_escalated=sum(c.status == "escalated" for c in cases),
        n_overdue=sum(c.overdue(now) for c in cases),
        hours_to_first_response=median_hours(first),
        hours_to_close=median_hours(to_close),
        closed_within_target=wilson(on_time, len(decided)) if decided else None,
        computed_at=now,
    )
