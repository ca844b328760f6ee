"""Repeated events: the rows equal to an earlier event on the duplicate key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from peakend.loading.duck.canonical import CanonicalEvents
from peakend.loading.duck.problems import ProblemRecording
from peakend.loading.duck.source import SourceReading
from peakend.validate import ROW, Reason

if TYPE_CHECKING:
    import duckdb

_KEYS = ("jid", "tp", "ts", "score_final", "channel", "text")
"""The duplicate key: two events equal on these columns are the same event."""


_HEAD = 100_000
"""Events whose order is checked before the journeys are read from it
(:func:`_ordered_groups`): a log in another order is told from them."""

_LAGS = f"lag(jid) OVER () AS pj, lag(ts) OVER () AS pt, lag({ROW}) OVER () AS pr"
"""Each event's predecessor's journey, time and row, in the order DuckDB reads them
(``lag() OVER ()`` streams: one pass, no sort)."""

_HOLDS = (
    f"(pr IS NULL OR coalesce({ROW} > pr AND (jid > pj OR jid = pj AND "
    "(ts IS NULL OR ts >= pt)), FALSE))"
)
"""Whether an event keeps the canonical order after its predecessor (:data:`_LAGS`):
its row comes later; its journey id does not fall (text compared byte by byte, as
DuckDB compares it); within its journey its time does not fall, a missing time
coming after every time. Never true across a missing journey id."""


def journey_groups(events: str) -> str:
    """The statement of table ``key_groups``: each journey of ``events`` (a table or
    view with the columns of ``ev_final``) with its first row (``lo``) and whether
    the duplicate-key hashes of its events with a time repeat (``repeated``).

    Equal events share their journey, so each journey's hashes are checked for a
    repeat (a short list per journey) instead of a hash table of every event's key
    hash (ten million groups at 10M events, the larger cost). The first rows order
    the outcome table (:attr:`_journey_rows`); dropping repeats cannot change them,
    since every repeat follows an equal event, of the same journey, that is kept.
    """
    return f"CREATE OR REPLACE TABLE key_groups AS {_groups_query(events)}"


def _groups_query(events: str) -> str:
    """The query of :func:`journey_groups`' table over ``events``."""
    hashed = f"CASE WHEN ts IS NOT NULL THEN hash({', '.join(_KEYS)}) END"
    hashes = "array_agg(h) FILTER (WHERE h IS NOT NULL)"
    return (
        f"SELECT jid, min({ROW}) AS lo, "
        f"array_length(array_distinct({hashes})) < count(h) AS repeated "
        f"FROM (SELECT jid, {ROW}, {hashed} AS h FROM {events}) GROUP BY jid"
    )


def group_journeys(db: duckdb.DuckDBPyConnection, events: str, *, in_order: bool = True) -> None:
    """Table ``key_groups`` of ``events`` (see :func:`journey_groups`): read from the
    events' own order when they are in the canonical order, else grouped.

    ``in_order`` says whether ``db`` streams ``lag() OVER ()`` in the order it reads
    the rows (DuckDB does; Spark has no such order, and always groups).

    Most logs arrive in the canonical order (by journey, then time). One pass in
    that order then finds each journey's first row where its id begins, and the few
    journeys that can hold a repeat, whose hashes alone are then checked: grouping
    ten million events by journey is not needed (docs/scale.md).
    """
    if not (in_order and _ordered_groups(db, events)):
        db.sql(journey_groups(events))


def _ordered_groups(db: duckdb.DuckDBPyConnection, events: str) -> bool:
    """Table ``key_groups`` of ``events`` from their order as read; False, leaving
    no table behind, when that order is not the canonical one.

    The first :data:`_HEAD` events are checked first, so a log in another order
    costs almost nothing. The table is kept only if the pass that read the journeys
    saw every event keep the order (:data:`_HOLDS`) and began once (one event without
    a predecessor): in that order each journey's events are together and its first
    row is where its id begins.
    """
    head = (
        f"SELECT jid, ts, {ROW}, {_LAGS} FROM (SELECT jid, ts, {ROW} FROM {events} LIMIT {_HEAD})"
    )
    if _any(db, f"NOT {_HOLDS}", f"({head})"):
        return False
    db.sql(f"CREATE OR REPLACE TABLE journey_marks AS {_marks_query(events)}")
    began = "(SELECT count(*) AS n FROM journey_marks WHERE pr IS NULL)"
    if _any(db, "broken", "journey_marks") or _any(db, "n > 1", began):
        db.sql("DROP TABLE journey_marks")
        return False
    candidates = "SELECT jid FROM journey_marks WHERE candidate"
    checked = f"(SELECT * FROM {events} WHERE jid IN ({candidates}))"
    repeated = f"SELECT jid FROM ({_groups_query(checked)}) WHERE repeated"
    db.sql(
        f"CREATE OR REPLACE TABLE key_groups AS SELECT jid, lo, jid IN ({repeated}) AS repeated "
        "FROM journey_marks WHERE start"
    )
    db.sql("DROP TABLE journey_marks")
    return True


def _marks_query(events: str) -> str:
    """The events of ``events``, in the order read, that begin a journey (``start``),
    that may repeat an event (``candidate``) or that break the canonical order
    (``broken``), with their journey and row (``lo``).

    In the canonical order the events of a journey at one time are together, and
    every repeat shares its journey and time: it follows an equal event directly, or
    is in a run of three or more events at one time. Those events are the candidates
    (a tenth of the journeys share a time between two events at 10M events, almost
    none both a time and the other keys).
    """
    other = ", ".join(k for k in _KEYS if k not in ("jid", "ts"))
    same_time = "jid = pj AND ts = pt"
    candidate = f"{same_time} AND (h = ph OR jid = pj2 AND ts = pt2)"
    start = "pr IS NULL OR jid IS DISTINCT FROM pj"
    lagged = (
        f"SELECT jid, ts, {ROW}, {_LAGS}, h, lag(h) OVER () AS ph, "
        "lag(jid, 2) OVER () AS pj2, lag(ts, 2) OVER () AS pt2 "
        f"FROM (SELECT jid, ts, {ROW}, hash({other}) AS h FROM {events})"
    )
    return (
        f"SELECT jid, {ROW} AS lo, pr, {start} AS start, coalesce({candidate}, FALSE) "
        f"AS candidate, NOT {_HOLDS} AS broken FROM ({lagged}) "
        f"WHERE {start} OR {candidate} OR NOT {_HOLDS}"
    )


def _any(db: duckdb.DuckDBPyConnection, condition: str, table: str) -> bool:
    """Whether a row of ``table`` meets ``condition``."""
    rows = db.sql(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {condition})").fetchall()
    return bool(rows[0][0])


class Duplicates(ProblemRecording, SourceReading, CanonicalEvents):
    """Quarantines every repeat of an event (the first copy is kept)."""

    def _drop_duplicates_sql(self) -> None:
        if not self._count("ev", "keep AND ts IS NOT NULL"):
            return
        if not (self._grouped and self._counts):
            # (the count pass built them over the same events unless a check dropped one)
            group_journeys(self.db, "ev_final", in_order=self.streams_in_order)
        self._journey_rows = "SELECT jid, lo AS order_row FROM key_groups"
        if not self._count("key_groups", "repeated"):
            return  # no key repeats: no second pass over the events
        keys = ", ".join(_KEYS)
        # The candidates with every canonical column. (On a Parquet file the condition
        # on the journey reaches the reader, which skips the row groups without them.)
        self.db.sql(
            "CREATE TABLE dup_candidates AS SELECT * FROM ev_final WHERE ts IS NOT NULL "
            "AND jid IN (SELECT jid FROM key_groups WHERE repeated)"
        )
        self.db.sql(
            f"CREATE TABLE dup_groups AS SELECT {keys}, min({ROW}) AS first_row "
            "FROM dup_candidates GROUP BY ALL HAVING count(*) > 1"
        )
        same = " AND ".join(f"e.{k} IS NOT DISTINCT FROM g.{k}" for k in keys.split(", "))
        self.db.sql(
            f"CREATE TABLE dup AS SELECT e.{ROW} FROM dup_candidates e JOIN dup_groups g "
            f"ON {same} WHERE e.{ROW} <> g.first_row"
        )
        frame = self._event_rows(f"{ROW} IN (SELECT {ROW} FROM dup)", table="dup_candidates")
        if not frame.empty:
            self._reject(
                frame,
                pd.Series(True, index=frame.index),
                Reason.DUPLICATE_EVENT,
                None,
                "remove the repeated rows from the export (the first copy is kept)",
            )
        self._drop(f"{ROW} IN (SELECT {ROW} FROM dup)")
