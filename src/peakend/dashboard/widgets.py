"""The figures behind the dashboard's widgets, computed in the background and cached.

A request never computes an analysis: :class:`WidgetCache` recomputes every
widget in its own thread (at start, after new answers but at most once per
``min_gap`` seconds, and every ``interval`` seconds) and a
request only filters the cached rows to the user's units. Each widget says when
it was computed and on how many answers.

Widgets (rows per touchpoint; a touchpoint belongs to the unit of the same name):

* ``responses``: invitations, answers and the response rate per week, Wilson 95 %;
* ``score_trend``: mean overall score per touchpoint and week with its 95 % t
  interval (none below :data:`MIN_ANSWERS`), and the change from the touchpoint's
  previous week with its 95 % Welch interval;
* ``endings``: share of comments ending negatively per touchpoint (decided
  endings only), Wilson 95 %, labels from the default comment scorer.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scipy import stats

from peakend.cases.endings import SharedEndings
from peakend.cases.store import Endings, User
from peakend.dashboard.aggregate import Cell, DayCells, EndingCounts, weekly
from peakend.stats.resampling import wilson
from peakend.survey.store import SurveyStore

log = logging.getLogger("peakend.dashboard")
MIN_ANSWERS = 2
WIDGETS = {
    "responses": "Responses and response rate per week",
    "score_trend": "Overall score per touchpoint and week",
    "endings": "Share of comments ending negatively per touchpoint",
}


@dataclass(frozen=True)
class Widget:
    """One widget's rows (before filtering by unit), and when and on what it was computed."""

    name: str
    title: str
    rows: list[dict[str, Any]]
    n_answers: int
    computed_at: datetime

    def for_user(self, user: User) -> Widget:
        """Only the rows of touchpoints in the user's units."""
        rows = [r for r in self.rows if user.sees(str(r["touchpoint"]))]
        n = sum(int(r.get("answers", 0)) for r in rows) if rows else 0
        return Widget(self.name, self.title, rows, n, self.computed_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "rows": self.rows,
            "n_answers": self.n_answers,
            "computed_at": self.computed_at.isoformat(),
        }


def _mean_interval(cell: Cell) -> tuple[float, float | None, float | None]:
    """Mean with its 95 % t interval (None below :data:`MIN_ANSWERS`), from the sums."""
    mean = cell.mean
    if cell.n < MIN_ANSWERS:
        return mean, None, None
    half = float(stats.t.ppf(0.975, cell.n - 1)) * math.sqrt(cell.variance / cell.n)
    return mean, mean - half, mean + half


def welch_change(
    before: list[float], after: list[float]
) -> tuple[float, float | None, float | None]:
    """Difference of means ``after - before`` with its 95 % Welch interval."""
    return _welch(_cell(before), _cell(after))


def _cell(values: list[float]) -> Cell:
    return Cell(n=len(values), total=sum(values), squares=sum(v * v for v in values))


def _welch(before: Cell, after: Cell) -> tuple[float, float | None, float | None]:
    """Welch's difference of means and its 95 % interval, from the sums of two periods."""
    change = after.mean - before.mean
    if before.n < MIN_ANSWERS or after.n < MIN_ANSWERS:
        return change, None, None
    v1, v2 = before.variance / before.n, after.variance / after.n
    se = math.sqrt(v1 + v2)
    if se == 0:
        return change, change, change
    df = (v1 + v2) ** 2 / (v1**2 / (before.n - 1) + v2**2 / (after.n - 1))
    half = float(stats.t.ppf(0.975, df)) * se
    return change, change - half, change + half


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value


class WidgetCache:
    """Every widget, recomputed in a background thread; requests read the last result.

    A refresh adds the invitations and answers that arrived since the last one
    to sums per touchpoint and day (:class:`~peakend.dashboard.aggregate.DayCells`)
    and scores only the comments not seen before
    (:class:`~peakend.dashboard.aggregate.EndingCounts`), so its time grows with
    the new answers and the number of touchpoints and days, not with all answers.
    """

    def __init__(
        self,
        survey: SurveyStore,
        *,
        endings: Endings | None = None,
        interval: float = 60.0,
        min_gap: float = 10.0,
    ) -> None:
        self.survey = survey
        shared = endings if isinstance(endings, SharedEndings) else SharedEndings(endings)
        self.endings: Endings = shared
        self.interval = interval
        self.min_gap = min(min_gap, interval)
        self._endings = EndingCounts(shared)
        self._days = DayCells()
        self._widgets: dict[str, Widget] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.computed = threading.Event()

    def get(self, name: str) -> Widget | None:
        """The last computed widget ``name`` (None until the first computation)."""
        with self._lock:
            return self._widgets.get(name)

    def refresh(self) -> None:
        """Recompute every widget from the database (runs in the background thread)."""
        weeks = weekly(self._days.update(self.survey.read_snapshot))
        self._endings.update(self.survey.read_snapshot)
        now = datetime.now(UTC)
        n_answers = sum(cell.answers for cell in weeks.values())
        widgets = {
            "responses": self._responses(weeks),
            "score_trend": self._trend(weeks),
            "endings": self._ending_rows(),
        }
        built = {
            name: Widget(name, WIDGETS[name], table, n_answers, now)
            for name, table in widgets.items()
        }
        with self._lock:
            self._widgets = built
        self.computed.set()

    @staticmethod
    def _responses(weeks: dict[tuple[str, str], Cell]) -> list[dict[str, Any]]:
        out = []
        for (touchpoint, period), cell in weeks.items():
            rate = wilson(cell.answers, cell.invited)
            out.append(
                {
                    "touchpoint": touchpoint,
                    "period": period,
                    "invited": cell.invited,
                    "answers": cell.answers,
                    "rate": rate.value,
                    "low": _clean(rate.low),
                    "high": _clean(rate.high),
                }
            )
        return out

    @staticmethod
    def _trend(weeks: dict[tuple[str, str], Cell]) -> list[dict[str, Any]]:
        out = []
        previous: dict[str, Cell] = {}
        for (touchpoint, period), cell in weeks.items():
            if cell.n == 0:
                continue
            mean, low, high = _mean_interval(cell)
            before = previous.get(touchpoint)
            change = _welch(before, cell) if before else (None, None, None)
            previous[touchpoint] = cell
            out.append(
                {
                    "touchpoint": touchpoint,
                    "period": period,
                    "mean": mean,
                    "low": low,
                    "high": high,
                    "change": change[0],
                    "change_low": change[1],
                    "change_high": change[2],
                    "answers": cell.n,
                }
            )
        return out

    def _ending_rows(self) -> list[dict[str, Any]]:
        out = []
        for touchpoint, counts in sorted(self._endings.counts.items()):
            decided = sum(counts.values())
            if not decided:
                continue
            share = wilson(counts["negative"], decided)
            out.append(
                {
                    "touchpoint": touchpoint,
                    "negative": share.value,
                    "low": _clean(share.low),
                    "high": _clean(share.high),
                    "answers": decided,
                }
            )
        return out

    # --- the background thread ---------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="peakend-widgets", daemon=True)
        self._thread.start()

    def wake(self, _response_id: int | None = None) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            started = time.monotonic()
            try:
                self.refresh()
            except Exception:
                log.exception("the widgets could not be computed; retrying")
            self._wake.wait(self.interval)
            # New answers wake the cache, but a stream of them must not keep it
            # recomputing: the refresh shares the process with the requests.
            rest = self.min_gap - (time.monotonic() - started)
            if rest > 0:
                self._stop.wait(rest)
