"""The widgets' figures from sums the database computes, and comment endings counted
incrementally, so a refresh over a million answers takes seconds, not minutes.

* :func:`day_cells`: SQL ``GROUP BY`` queries over invitations and answers per
  touchpoint and day give the invitations, answers, and the count, sum and sum
  of squares of the overall scores. A week is a sum of days, and a mean, a t
  interval and a Welch change need nothing more than those three sums, so
  Python never sees an individual answer. :class:`DayCells` keeps those sums
  and adds only the rows that arrived since the last refresh.
* :class:`EndingCounts`: how comments end needs the comment scorer, which runs
  in Python, so the counts per touchpoint and day are kept between refreshes and only
  answers newer than the last one seen are scored (each distinct text once,
  by the shared label cache). Answers within :data:`LOOKBACK` ids of the
  newest are looked at again, so an answer whose transaction committed after a
  later one's (PostgreSQL) is still counted, once. When answers were erased
  (fewer comments in the database than counted) the counts are rebuilt.
"""

from __future__ import annotations

import functools
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peakend.cases.store import Endings
from peakend.survey import models as m

LOOKBACK = 10_000
"""Answers this many ids below the newest seen are read again (late commits)."""
MARGIN_S = 120.0
"""Invitations created this recently are summed afresh on every refresh (late commits)."""
FULL_EVERY_S = 3600.0
"""Every sum is rebuilt from the tables this often, whatever the checks say."""
CHUNK = 20_000
"""Comments scored per call of the scorer (bounds memory on a first refresh)."""
LABELS = ("negative", "neutral", "positive")


@dataclass
class Cell:
    """Sums of one touchpoint and period."""

    invited: int = 0
    answers: int = 0
    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, other: Cell) -> None:
        self.invited += other.invited
        self.answers += other.answers
        self.n += other.n
        self.total += other.total
        self.squares += other.squares

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        """Sample variance (n − 1) from the sums; 0 when rounding makes it negative."""
        if self.n < 2:
            return math.nan
        return max(0.0, (self.squares - self.total**2 / self.n) / (self.n - 1))


def _day(connection: Connection) -> Any:
    column = m.invitations.c.event_ts
    if connection.dialect.name == "sqlite":
        return sa.func.date(column)  # stored as UTC text
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


Key = tuple[str, str]


def day_cells(connection: Connection) -> dict[Key, Cell]:
    """Sums per touchpoint and day (ISO date, UTC) over every invitation and answer."""
    out = _invited(connection, sa.true())
    _add(out, _answered(connection, sa.true()))
    return out


def _invited(connection: Connection, where: Any) -> dict[Key, Cell]:
    """Invitations per touchpoint and event day, of those matching ``where``."""
    i = m.invitations
    day = _day(connection).label("day")
    query = (
        sa.select(i.c.touchpoint, day, sa.func.count()).where(where).group_by(i.c.touchpoint, day)
    )
    return {
        (str(tp), str(when)[:10]): Cell(invited=int(n)) for tp, when, n in connection.execute(query)
    }


def _answered(connection: Connection, where: Any) -> dict[Key, Cell]:
    """Answers and overall-score sums per touchpoint and event day (answers matching ``where``)."""
    i, r = m.invitations, m.responses
    day = _day(connection).label("day")
    query = (
        sa.select(
            i.c.touchpoint,
            day,
            sa.func.count(),
            sa.func.count(r.c.overall),
            sa.func.sum(r.c.overall),
            sa.func.sum(r.c.overall * r.c.overall),
        )
        .select_from(r.join(i, i.c.id == r.c.invitation_id))
        .where(where)
        .group_by(i.c.touchpoint, day)
    )
    return {
        (str(tp), str(when)[:10]): Cell(0, int(answers), int(n), float(total or 0), float(sq or 0))
        for tp, when, answers, n, total, sq in connection.execute(query)
    }


def _add(into: dict[Key, Cell], more: dict[Key, Cell]) -> None:
    for key, cell in more.items():
        into.setdefault(key, Cell()).add(cell)


class DayCells:
    """The sums of :func:`day_cells`, kept between refreshes and updated from new rows.

    The sums are a *base* (invitations created before a moving time floor,
    answers up to a moving id floor), advanced by adding only the rows that
    passed a floor since the last refresh, plus a *window* above the floors that
    is summed afresh each time: invitations of the last :data:`MARGIN_S` seconds
    and the last :data:`LOOKBACK` answers, where a transaction that took its
    time or id earlier may still commit. After each update the totals are
    checked against ``count(*)`` of both tables; any difference (an erasure, a
    very late commit) rebuilds everything, as does every :data:`FULL_EVERY_S`.
    """

    def __init__(self) -> None:
        self.base: dict[Key, Cell] = {}
        self.time_floor: datetime | None = None
        self.id_floor = 0
        self.built = -math.inf
        self.rebuilds = 0

    def update(self, read: Any) -> dict[Key, Cell]:
        """The current sums; ``read`` runs a function in a read snapshot."""
        now = datetime.now(UTC)
        found: dict[Key, Cell] | None = None
        if self.time_floor is not None and time.monotonic() - self.built < FULL_EVERY_S:
            found = read(functools.partial(self._step, now=now))
        if found is None:
            found = read(functools.partial(self._full, now=now))
        return found

    def _full(self, connection: Connection, *, now: datetime) -> dict[Key, Cell]:
        self.rebuilds += 1
        self.built = time.monotonic()
        self.base, self.time_floor, self.id_floor = {}, datetime.min.replace(tzinfo=UTC), 0
        found = self._step(connection, now=now)
        if found is None:  # cannot happen: one snapshot's sums and counts agree
            raise RuntimeError("the widget sums disagree with the tables in one snapshot")
        return found

    def _step(self, connection: Connection, *, now: datetime) -> dict[Key, Cell] | None:
        i, r = m.invitations, m.responses
        assert self.time_floor is not None
        floor = now - timedelta(seconds=MARGIN_S)
        if floor > self.time_floor:
            passed = sa.and_(i.c.created_at >= self.time_floor, i.c.created_at < floor)
            _add(self.base, _invited(connection, passed))
            self.time_floor = floor
        newest = int(connection.execute(sa.select(sa.func.max(r.c.id))).scalar() or 0)
        id_floor = max(self.id_floor, newest - LOOKBACK)
        if id_floor > self.id_floor:
            _add(
                self.base,
                _answered(connection, sa.and_(r.c.id > self.id_floor, r.c.id <= id_floor)),
            )
            self.id_floor = id_floor
        cells = {key: Cell(**vars(cell)) for key, cell in self.base.items()}
        _add(cells, _invited(connection, i.c.created_at >= self.time_floor))
        _add(cells, _answered(connection, r.c.id > self.id_floor))
        invited = connection.execute(sa.select(sa.func.count()).select_from(i)).scalar_one()
        answers = connection.execute(sa.select(sa.func.count()).select_from(r)).scalar_one()
        summed = sum(c.invited for c in cells.values()), sum(c.answers for c in cells.values())
        return cells if summed == (int(invited), int(answers)) else None


def utc_day(ts: datetime) -> str:
    """The ISO day (UTC) of an event time, as the database's day sums count it."""
    return (ts.astimezone(UTC).date() if ts.tzinfo else ts.date()).isoformat()


def in_days(day: str, first: date | None, last: date | None) -> bool:
    """Whether the ISO day ``day`` is within ``first``..``last`` (both included; None: open)."""
    return (first is None or day >= first.isoformat()) and (last is None or day <= last.isoformat())


def between(days: dict[Key, Cell], first: date | None, last: date | None) -> dict[Key, Cell]:
    """The day sums of the days within ``first``..``last`` (a period of whole days)."""
    if first is None and last is None:
        return days
    return {key: cell for key, cell in days.items() if in_days(key[1], first, last)}


def week_of(day: str) -> str:
    """The Monday of an ISO date's week."""
    found = date.fromisoformat(day)
    return (found - timedelta(days=found.weekday())).isoformat()


def weekly(days: dict[tuple[str, str], Cell]) -> dict[tuple[str, str], Cell]:
    """Day sums added up per touchpoint and week (sorted by touchpoint, then week)."""
    weeks: dict[tuple[str, str], Cell] = defaultdict(Cell)
    for (touchpoint, day), cell in days.items():
        weeks[(touchpoint, week_of(day))].add(cell)
    return dict(sorted(weeks.items()))


class EndingCounts:
    """Decided comment endings per touchpoint and event day (UTC), updated from new
    answers only; a period of whole days is a sum of days, as for :class:`DayCells`."""

    def __init__(self, endings: Endings) -> None:
        self.endings = endings
        self.by_day: dict[Key, dict[str, int]] = {}
        self.newest = 0
        self.counted = 0
        """Comments counted (decided or not): compared with the database to see erasures."""
        self._recent: set[int] = set()

    def reset(self) -> None:
        """Forget every count (the next update reads every comment again)."""
        self.by_day, self.newest, self.counted, self._recent = {}, 0, 0, set()

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Decided endings per touchpoint, over every day."""
        return self.between(None, None)

    def between(self, first: date | None, last: date | None) -> dict[str, dict[str, int]]:
        """Decided endings per touchpoint of comments on answers whose event day is in
        ``first``..``last`` (both included; None: open)."""
        out: dict[str, dict[str, int]] = {}
        for (touchpoint, day), cell in self.by_day.items():
            if in_days(day, first, last):
                total = out.setdefault(touchpoint, dict.fromkeys(LABELS, 0))
                for label in LABELS:
                    total[label] += cell[label]
        return out

    def update(self, read: Any) -> None:
        """Count the comments not counted yet; ``read`` runs a function in a snapshot.

        Comments are read and scored in pages of :data:`CHUNK`, so a first
        refresh over a million answers holds one page in memory at a time.
        """
        if read(self._stored) < self.counted:  # answers were erased: start again
            self.reset()
        after = max(0, self.newest - LOOKBACK)
        fresh_ids: list[int] = []
        while True:
            rows = read(functools.partial(self._page, after=after))
            fresh = [row for row in rows if row[0] not in self._recent]
            labels = self.endings([row[2] for row in fresh]) if fresh else []
            for (_, touchpoint, _text, ts), label in zip(fresh, labels, strict=True):
                if label in LABELS:
                    key = (str(touchpoint), utc_day(ts))
                    cell = self.by_day.setdefault(key, dict.fromkeys(LABELS, 0))
                    cell[label] += 1
            self.counted += len(fresh)
            fresh_ids += [int(row[0]) for row in fresh]
            if rows:
                after = int(rows[-1][0])
                self.newest = max(self.newest, after)
            if len(rows) < CHUNK:
                break
        floor = self.newest - LOOKBACK
        self._recent = {i for i in self._recent if i >= floor}
        self._recent.update(i for i in fresh_ids if i >= floor)

    @staticmethod
    def _stored(connection: Connection) -> int:
        r = m.responses
        return int(
            connection.execute(
                sa.select(sa.func.count()).select_from(r).where(_has_comment())
            ).scalar_one()
        )

    @staticmethod
    def _page(connection: Connection, after: int) -> list[Any]:
        r, i = m.responses, m.invitations
        rows = connection.execute(
            sa.select(r.c.id, i.c.touchpoint, r.c.comment, i.c.event_ts)
            .join(i, i.c.id == r.c.invitation_id)
            .where(_has_comment(), r.c.id > after)
            .order_by(r.c.id)
            .limit(CHUNK)
        ).all()
        return [tuple(row) for row in rows]


def _has_comment() -> Any:
    r = m.responses
    return sa.and_(r.c.comment.is_not(None), r.c.comment != "")
