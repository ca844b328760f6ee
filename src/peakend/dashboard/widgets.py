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
  endings only), Wilson 95 %, labels from the default comment scorer;
* ``verbatims``: the latest :data:`VERBATIMS` comments per touchpoint with how
  each ends and the answer's emotion score.

Every widget is computed per filter (:mod:`peakend.dashboard.filters`): period
and segment select the answers, units the rows. The figures come from sums per
touchpoint and day kept up to date with the new answers only
(:mod:`peakend.dashboard.aggregate`), so a refresh over a million answers reads
what arrived since the last one; the verbatim feed reads the latest comments only.
A period is made of whole days (UTC), so a period filter is a selection of those
day sums, and units select touchpoints, which the sums are kept per. Only a
segment filter (an invitation's channel, language or questionnaire, which the
sums are not kept per) makes a refresh read the answers themselves.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from scipy import stats

from peakend.cases.endings import SharedEndings
from peakend.cases.store import Endings, User
from peakend.dashboard.aggregate import Cell, DayCells, EndingCounts, Key, between, weekly
from peakend.dashboard.filters import NO_FILTER, SURVEY_SEGMENTS, Filter, in_period
from peakend.dashboard.layout import SURVEY_WIDGETS
from peakend.dashboard.refresh import ThrottledRefresh
from peakend.stats.resampling import wilson
from peakend.survey import models as m
from peakend.survey.store import SurveyStore

MIN_ANSWERS = 2
WIDGETS = SURVEY_WIDGETS
#: Filters kept up to date besides the unfiltered figures (the most recently asked for).
MAX_FILTERS = 32
#: Latest comments per touchpoint in the verbatim feed.
VERBATIMS = 20


@dataclass(frozen=True)
class Widget:
    """One widget's rows (before filtering by unit), and when and on what it was computed."""

    name: str
    title: str
    rows: list[dict[str, Any]]
    n_answers: int
    computed_at: datetime

    def for_user(self, user: User, flt: Filter = NO_FILTER) -> Widget:
        """Only the rows of touchpoints in the user's units (and the filter's, if it names any)."""
        rows = [r for r in self.rows if flt.shows(str(r["touchpoint"]), user)]
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


_EVENTS = sa.select(
    m.invitations.c.touchpoint,
    m.invitations.c.event_ts,
    m.responses.c.id,
    m.responses.c.overall,
    m.responses.c.comment,
    m.responses.c.emotion,
    m.responses.c.submitted_at,
    m.invitations.c.channel,
    m.invitations.c.lang,
    m.invitations.c.questionnaire,
).select_from(
    m.invitations.outerjoin(m.responses, m.responses.c.invitation_id == m.invitations.c.id)
)
_NEWEST = (
    sa.func.row_number()
    .over(
        partition_by=m.invitations.c.touchpoint,
        order_by=(m.responses.c.submitted_at.desc(), m.responses.c.id.desc()),
    )
    .label("newest")
)
_LATEST_COMMENTS = _EVENTS.add_columns(_NEWEST).where(
    m.responses.c.comment.is_not(None), m.responses.c.comment != ""
)
"""Every commented answer with its rank per touchpoint, newest first."""


def _week_cells(rows: list[Any]) -> dict[tuple[str, str], Cell]:
    """Sums per touchpoint and week of invitations and answers (rows of :data:`_EVENTS`)."""
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    for r in rows:
        cell = cells[(r.touchpoint, week(r.event_ts))]
        cell.invited += 1
        if r.id is not None:
            cell.answers += 1
            if r.overall is not None:
                cell.n += 1
                cell.total += float(r.overall)
                cell.squares += float(r.overall) ** 2
    return dict(sorted(cells.items()))


def from_sums(flt: Filter) -> bool:
    """Whether the day sums answer ``flt``: any period (whole days) and units, no segment."""
    return not flt.segment


def _midnight(day: date) -> datetime:
    """The start of ``day`` in UTC (the day sums count event days in UTC)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class WidgetCache(ThrottledRefresh):
    """Every survey widget, computed in a background thread; requests read the last result.

    Figures are kept per filter (:meth:`Filter.computation_key`: period and
    segment; units are applied to the computed rows). The unfiltered figures are
    always computed; a new filter is computed on its first request, from the last
    snapshot of the answers, while the request answers "being computed", and is
    then kept up to date with the others (the :data:`MAX_FILTERS` last used).
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
        super().__init__(interval, min_gap)
        self._ending_counts = EndingCounts(shared)
        self._days = DayCells()
        self._labels: dict[int, str | None] = {}
        self._rows: list[Any] | None = None
        self._day_sums: dict[Key, Cell] | None = None
        self._computed_at = datetime.now(UTC)
        self._widgets: dict[tuple[object, ...], dict[str, Widget]] = {}
        self._wanted: dict[tuple[object, ...], Filter] = {NO_FILTER.computation_key(): NO_FILTER}
        self._lock = threading.Lock()
        self.computed = threading.Event()

    def get(self, name: str, flt: Filter = NO_FILTER) -> Widget | None:
        """The last computed widget ``name`` for ``flt`` (None until it is computed).

        A filter not seen before is queued for the background thread.
        """
        key = flt.computation_key()
        with self._lock:
            found = self._widgets.get(key)
            if found is None and key not in self._wanted:
                self._wanted[key] = Filter(flt.period, flt.segment)
                while len(self._wanted) > MAX_FILTERS:
                    oldest = next(k for k in self._wanted if k != NO_FILTER.computation_key())
                    del self._wanted[oldest]
                    self._widgets.pop(oldest, None)
                self._wake.set()
        return None if found is None else found.get(name)

    def refresh(self) -> None:
        """Recompute every widget of every filter in use (in the background thread).

        The widgets come from the running sums (new answers only); the answers
        are read only when a segment filter is in use.
        """
        days = self._days.update(self.survey.read_snapshot)
        self._ending_counts.update(self.survey.read_snapshot)
        self._day_sums = days
        self._computed_at = datetime.now(UTC)
        with self._lock:
            wanted = dict(self._wanted)
        unfiltered = NO_FILTER.computation_key()
        filtered = {key: flt for key, flt in wanted.items() if key != unfiltered}
        segments = any(not from_sums(flt) for flt in filtered.values())
        self._rows = self._read_rows() if segments else None
        built = {unfiltered: self._from_sums(days, NO_FILTER)}
        for key, flt in filtered.items():
            built[key] = self._filtered(flt)
        with self._lock:
            self._widgets = built
        self.computed.set()

    def _filtered(self, flt: Filter) -> dict[str, Widget]:
        """The widgets of a filter: from the day sums when they can answer it, else
        from the answers (read once per refresh)."""
        if from_sums(flt) and self._day_sums is not None:
            return self._from_sums(self._day_sums, flt)
        if self._rows is None:
            self._rows = self._read_rows()
        return self._compute(self._rows, flt)

    def _read_rows(self) -> list[Any]:
        rows: list[Any] = self.survey.read_snapshot(lambda c: c.execute(_EVENTS).all())
        return rows

    def _from_sums(self, days: dict[Key, Cell], flt: Filter) -> dict[str, Widget]:
        """The widgets of a period (or none), from the day sums and the latest comments."""
        first, last = flt.bounds()
        weeks = weekly(between(days, first, last))
        latest = _LATEST_COMMENTS
        if first is not None:
            latest = latest.where(m.invitations.c.event_ts >= _midnight(first))
        if last is not None:
            latest = latest.where(m.invitations.c.event_ts < _midnight(last + timedelta(days=1)))
        query = sa.select(latest.subquery())
        newest = [
            r
            for r in self.survey.read_snapshot(lambda c: c.execute(query).all())
            if r.newest <= VERBATIMS
        ]
        self._label(newest)
        tables = {
            "responses": self._responses(weeks),
            "score_trend": self._trend(weeks),
            "endings": self._ending_rows(self._ending_counts.between(first, last)),
            "verbatims": self._verbatims(newest),
        }
        n_answers = sum(cell.answers for cell in weeks.values())
        now = self._computed_at
        return {
            name: Widget(name, WIDGETS[name], table, n_answers, now)
            for name, table in tables.items()
        }

    def compute_pending(self) -> None:
        """Compute the filters asked for since the last refresh."""
        with self._lock:
            pending = {k: f for k, f in self._wanted.items() if k not in self._widgets}
        if not pending:
            return
        for key, flt in pending.items():
            computed = self._filtered(flt)
            with self._lock:
                if key in self._wanted:
                    self._widgets[key] = computed

    def _compute(self, rows: list[Any], flt: Filter) -> dict[str, Widget]:
        bounds = flt.bounds()
        segment = flt.segment_pair
        if segment is not None and segment[0] not in SURVEY_SEGMENTS:
            rows = []  # answers have no such segment (the API says which keys exist)
        kept = [
            r
            for r in rows
            if in_period(r.event_ts, bounds)
            and (segment is None or str(getattr(r, segment[0])) == segment[1])
        ]
        answered = [r for r in kept if r.id is not None]
        self._label(answered)
        weeks = _week_cells(kept)
        tables = {
            "responses": self._responses(weeks),
            "score_trend": self._trend(weeks),
            "endings": self._endings(answered),
            "verbatims": self._verbatims(answered),
        }
        now = self._computed_at
        return {
            name: Widget(name, WIDGETS[name], table, len(answered), now)
            for name, table in tables.items()
        }

    def _label(self, answered: list[Any]) -> None:
        """Score each comment's ending once (kept across refreshes and filters)."""
        new = [r for r in answered if r.comment and r.id not in self._labels]
        if new:
            labels = self.endings([r.comment for r in new])
            self._labels.update({r.id: label for r, label in zip(new, labels, strict=True)})

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

    @staticmethod
    def _ending_rows(counted: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
        out = []
        for touchpoint, counts in sorted(counted.items()):
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

    def _endings(self, answered: list[Any]) -> list[dict[str, Any]]:
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

    def _verbatims(self, answered: list[Any]) -> list[dict[str, Any]]:
        """The latest comments of each touchpoint, with how they end and the emotion score."""
        by_touchpoint: dict[str, list[Any]] = defaultdict(list)
        for r in answered:
            if r.comment:
                by_touchpoint[r.touchpoint].append(r)
        out = []
        for touchpoint, found in sorted(by_touchpoint.items()):
            found.sort(key=lambda r: (r.submitted_at, r.id), reverse=True)
            out += [
                {
                    "touchpoint": touchpoint,
                    "submitted_at": r.submitted_at.isoformat(),
                    "event_ts": r.event_ts.isoformat(),
                    "comment": r.comment,
                    "ending": self._labels.get(r.id),
                    "emotion": r.emotion,
                    "overall": r.overall,
                    "answers": 1,
                }
                for r in found[:VERBATIMS]
            ]
        return out

    # --- the background thread ---------------------------------------------------------

    thread_name = "peakend-widgets"
    failure = "the widgets could not be computed; retrying"

    def tick(self, full: bool) -> None:
        """Every filter after new answers or once per interval; new filters at once.

        A new filter is computed from the last snapshot of the answers, so it never
        waits for the next full refresh.
        """
        if full:
            self.refresh()
        self.compute_pending()
