"""The widgets' figures from sums the database computes, and comment endings counted
incrementally, so a refresh over a million answers takes seconds, not minutes.

* :func:`day_cells`: one SQL ``GROUP BY`` over invitations and answers per
  touchpoint and day gives the invitations, answers, and the count, sum and sum
  of squares of the overall scores. A week is a sum of days, and a mean, a t
  interval and a Welch change need nothing more than those three sums, so
  Python never sees an individual answer.
* :class:`EndingCounts`: how comments end needs the comment scorer, which runs
  in Python, so the counts per touchpoint are kept between refreshes and only
  answers newer than the last one seen are scored (each distinct text once,
  by the shared label cache). Answers within :data:`LOOKBACK` ids of the
  newest are looked at again, so an answer whose transaction committed after a
  later one's (PostgreSQL) is still counted, once. When answers were erased
  (fewer comments in the database than counted) the counts are rebuilt.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peakend.cases.store import Endings
from peakend.survey import models as m

LOOKBACK = 10_000
"""Answers this many ids below the newest seen are read again (late commits)."""
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


def day_cells(connection: Connection) -> dict[tuple[str, str], Cell]:
    """Sums per touchpoint and day (ISO date, UTC), from one aggregate query."""
    i, r = m.invitations, m.responses
    day = _day(connection).label("day")
    query = (
        sa.select(
            i.c.touchpoint,
            day,
            sa.func.count(),
            sa.func.count(r.c.id),
            sa.func.count(r.c.overall),
            sa.func.sum(r.c.overall),
            sa.func.sum(r.c.overall * r.c.overall),
        )
        .select_from(i.outerjoin(r, r.c.invitation_id == i.c.id))
        .group_by(i.c.touchpoint, day)
    )
    out = {}
    for touchpoint, when, invited, answers, n, total, squares in connection.execute(query):
        key = (str(touchpoint), str(when)[:10])
        out[key] = Cell(int(invited), int(answers), int(n), float(total or 0), float(squares or 0))
    return out


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
    """Decided comment endings per touchpoint, updated from new answers only."""

    def __init__(self, endings: Endings) -> None:
        self.endings = endings
        self.counts: dict[str, dict[str, int]] = {}
        self.newest = 0
        self.counted = 0
        """Comments counted (decided or not): compared with the database to see erasures."""
        self._recent: set[int] = set()

    def reset(self) -> None:
        """Forget every count (the next update reads every comment again)."""
        self.counts, self.newest, self.counted, self._recent = {}, 0, 0, set()

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
            for (_, touchpoint, _text), label in zip(fresh, labels, strict=True):
                if label in LABELS:
                    cell = self.counts.setdefault(str(touchpoint), dict.fromkeys(LABELS, 0))
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
            sa.select(r.c.id, i.c.touchpoint, r.c.comment)
            .join(i, i.c.id == r.c.invitation_id)
            .where(_has_comment(), r.c.id > after)
            .order_by(r.c.id)
            .limit(CHUNK)
        ).all()
        return [tuple(row) for row in rows]


def _has_comment() -> Any:
    r = m.responses
    return sa.and_(r.c.comment.is_not(None), r.c.comment != "")
