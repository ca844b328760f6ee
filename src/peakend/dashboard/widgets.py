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
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from scipy import stats

from peakend.cases.store import Endings, User, default_endings
from peakend.stats.resampling import wilson
from peakend.survey import models as m
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


def week(ts: datetime) -> str:
    """The Monday of ``ts``'s week, as an ISO date (the period of the trend widgets)."""
    day = ts.astimezone(UTC).date() if ts.tzinfo else ts.date()
    return (day - timedelta(days=day.weekday())).isoformat()


def _mean_interval(values: list[float]) -> tuple[float, float | None, float | None]:
    n = len(values)
    mean = sum(values) / n
    if n < MIN_ANSWERS:
        return mean, None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def welch_change(
    before: list[float], after: list[float]
) -> tuple[float, float | None, float | None]:
    """Difference of means ``after - before`` with its 95 % Welch interval."""
    change = sum(after) / len(after) - sum(before) / len(before)
    if len(before) < MIN_ANSWERS or len(after) < MIN_ANSWERS:
        return change, None, None
    v1, v2 = (statistics.variance(before) / len(before), statistics.variance(after) / len(after))
    se = math.sqrt(v1 + v2)
    if se == 0:
        return change, change, change
    df = (v1 + v2) ** 2 / (v1**2 / (len(before) - 1) + v2**2 / (len(after) - 1))
    half = float(stats.t.ppf(0.975, df)) * se
    return change, change - half, change + half


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value


_EVENTS = sa.select(
    m.invitations.c.touchpoint,
    m.invitations.c.event_ts,
    m.responses.c.id,
    m.responses.c.overall,
    m.responses.c.comment,
).select_from(
    m.invitations.outerjoin(m.responses, m.responses.c.invitation_id == m.invitations.c.id)
)


class WidgetCache:
    """Every widget, recomputed in a background thread; requests read the last result."""

    def __init__(
        self,
        survey: SurveyStore,
        *,
        endings: Endings | None = None,
        interval: float = 60.0,
        min_gap: float = 10.0,
    ) -> None:
        self.survey = survey
        self.endings = endings or default_endings
        self.interval = interval
        self.min_gap = min(min_gap, interval)
        self._labels: dict[int, str | None] = {}
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
        rows = self.survey.read_snapshot(lambda c: c.execute(_EVENTS).all())
        now = datetime.now(UTC)
        answered = [r for r in rows if r.id is not None]
        widgets = {
            "responses": self._responses(rows),
            "score_trend": self._trend(answered),
            "endings": self._endings(answered),
        }
        built = {
            name: Widget(name, WIDGETS[name], table, len(answered), now)
            for name, table in widgets.items()
        }
        with self._lock:
            self._widgets = built
        self.computed.set()

    def _responses(self, rows: list[Any]) -> list[dict[str, Any]]:
        counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for r in rows:
            cell = counts[(r.touchpoint, week(r.event_ts))]
            cell[0] += 1
            cell[1] += r.id is not None
        out = []
        for (touchpoint, period), (invited, answers) in sorted(counts.items()):
            rate = wilson(answers, invited)
            out.append(
                {
                    "touchpoint": touchpoint,
                    "period": period,
                    "invited": invited,
                    "answers": answers,
                    "rate": rate.value,
                    "low": _clean(rate.low),
                    "high": _clean(rate.high),
                }
            )
        return out

    def _trend(self, answered: list[Any]) -> list[dict[str, Any]]:
        scores: dict[tuple[str, str], list[float]] = defaultdict(list)
        for r in answered:
            if r.overall is not None:
                scores[(r.touchpoint, week(r.event_ts))].append(float(r.overall))
        out = []
        previous: dict[str, list[float]] = {}
        for (touchpoint, period), values in sorted(scores.items()):
            mean, low, high = _mean_interval(values)
            before = previous.get(touchpoint)
            change = welch_change(before, values) if before else (None, None, None)
            previous[touchpoint] = values
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
                    "answers": len(values),
                }
            )
        return out

    def _endings(self, answered: list[Any]) -> list[dict[str, Any]]:
        new = [r for r in answered if r.comment and r.id not in self._labels]
        if new:
            labels = self.endings([r.comment for r in new])
            self._labels.update({r.id: label for r, label in zip(new, labels, strict=True)})
        groups: dict[str, list[str]] = defaultdict(list)
        for r in answered:
            label = self._labels.get(r.id)
            if label in ("negative", "neutral", "positive"):
                groups[r.touchpoint].append(label)
        out = []
        for touchpoint, found in sorted(groups.items()):
            share = wilson(sum(x == "negative" for x in found), len(found))
            out.append(
                {
                    "touchpoint": touchpoint,
                    "negative": share.value,
                    "low": _clean(share.low),
                    "high": _clean(share.high),
                    "answers": len(found),
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
