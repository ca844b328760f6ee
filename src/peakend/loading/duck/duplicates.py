"""Repeated events: the rows equal to an earlier event on the duplicate key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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

_MIN_PART = 1_000_000
"""Rows each part of the order pass has at least (:func:`_cuts`): below that, one
pass reads every event, as splitting a small log gains nothing."""

_NEAR = 1024
"""Rows before a cut between parts of the order pass where its context is looked for
first (:func:`_context`)."""

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


def group_journeys(
    db: duckdb.DuckDBPyConnection,
    events: str,
    *,
    in_order: bool = True,
    last_row: int | None = None,
    min_part: int = _MIN_PART,
) -> None:
    """Table ``key_groups`` of ``events`` (see :func:`journey_groups`): read from the
    events' own order when they are in the canonical order, else grouped.

    ``in_order`` says whether ``db`` streams ``lag() OVER ()`` in the order it reads
    the rows (DuckDB does; Spark has no such order, and always groups).
    ``last_row`` and ``min_part`` say how the order pass is split (:func:`_cuts`).

    Most logs arrive in the canonical order (by journey, then time). One pass in
    that order then finds each journey's first row where its id begins, and the few
    journeys that can hold a repeat, whose hashes alone are then checked: grouping
    ten million events by journey is not needed (docs/scale.md).
    """
    if not (in_order and _ordered_groups(db, events, last_row=last_row, min_part=min_part)):
        db.sql(journey_groups(events))


def _ordered_groups(
    db: duckdb.DuckDBPyConnection,
    events: str,
    *,
    last_row: int | None = None,
    min_part: int = _MIN_PART,
) -> bool:
    """Table ``key_groups`` of ``events`` from their order as read; False, leaving
    no table behind, when that order is not the canonical one.

    The first :data:`_HEAD` events are checked first, so a log in another order
    costs almost nothing. The table is kept only if the pass that read the journeys
    (:func:`_journey_marks`) saw every event keep the order (:data:`_HOLDS`) and
    began once (one event without a predecessor): in that order each journey's
    events are together and its first row is where its id begins.
    """
    head = (
        f"SELECT jid, ts, {ROW}, {_LAGS} FROM (SELECT jid, ts, {ROW} FROM {events} LIMIT {_HEAD})"
    )
    if _any(db, f"NOT {_HOLDS}", f"({head})"):
        return False
    parts = _journey_marks(db, events, _cuts(db, events, last_row, min_part))
    try:
        began = "(SELECT count(*) AS n FROM journey_marks WHERE pr IS NULL)"
        if _any(db, "broken", "journey_marks") or _any(db, "n > 1", began):
            return False
        candidates = "SELECT jid FROM journey_marks WHERE candidate"
        checked = f"(SELECT * FROM {events} WHERE jid IN ({candidates}))"
        repeated = f"SELECT jid FROM ({_groups_query(checked)}) WHERE repeated"
        db.sql(
            f"CREATE OR REPLACE TABLE key_groups AS SELECT jid, lo, jid IN ({repeated}) "
            "AS repeated FROM journey_marks WHERE start"
        )
        return True
    finally:
        db.sql("DROP VIEW journey_marks")
        for part in parts:
            db.sql(f"DROP TABLE {part}")


def _journey_marks(db: duckdb.DuckDBPyConnection, events: str, cuts: list[int]) -> list[str]:
    """View ``journey_marks``: the rows of :func:`_marks_query` over every event of
    ``events``, from tables of parts of the rows built at once (split after the rows
    ``cuts``, :func:`_cuts`); the tables' names.

    ``lag() OVER ()`` streams on one thread. Split into parts, each part reads
    only its rows (the condition on the row reaches the reader) on a cursor of its
    own, so the parts run on as many cores as DuckDB has threads. Each part after
    the first also reads the two events before it (:func:`_context`), whose marks
    belong to the part before and are left out: every event then has the same
    predecessors as in one pass, and an event that breaks the order at a cut, or a
    part read in another order, is still marked ``broken``.
    """
    bounds = list(zip([None, *cuts], [*cuts, None], strict=True))
    parts = [f"journey_marks_{i}" for i in range(len(bounds))]
    statements = [
        f"CREATE OR REPLACE TABLE {part} AS {_part_query(db, events, after, upto)}"
        for part, (after, upto) in zip(parts, bounds, strict=True)
    ]
    if len(statements) == 1:
        db.sql(statements[0])
    else:
        _run_at_once(db, statements)
    union = " UNION ALL ".join(f"SELECT * FROM {part}" for part in parts)
    db.sql(f"CREATE OR REPLACE VIEW journey_marks AS {union}")
    return parts


def _cuts(
    db: duckdb.DuckDBPyConnection, events: str, last_row: int | None, min_part: int
) -> list[int]:
    """Rows that split ``events`` into parts of even ranges of row numbers (each part
    holds the rows after one cut up to the next), as many parts as DuckDB has
    threads if each spans at least ``min_part`` rows; none for one part.

    The range is that of the rows of ``events``, or 1 to ``last_row`` when the
    caller knows the rows are numbered from 1 up to it (gaps allowed): the range
    query then is not needed (0.02-0.05 CPU seconds at 10M events). Any cuts give
    the same table; the range only balances the parts.
    """
    threads = int(db.sql("SELECT current_setting('threads')").fetchall()[0][0])
    if threads < 2:
        return []
    if last_row is not None:
        first, last = 1, last_row
    else:
        first, last = db.sql(f"SELECT min({ROW}), max({ROW}) FROM {events}").fetchall()[0]
    if first is None or last < first:
        return []
    span = last - first + 1
    n_parts = min(threads, span // max(min_part, 1))
    return [first - 1 + span * i // n_parts for i in range(1, n_parts)]


def _part_query(
    db: duckdb.DuckDBPyConnection, events: str, after: int | None, upto: int | None
) -> str:
    """:func:`_marks_query` over the rows of ``events`` after ``after`` up to ``upto``
    (None: no bound), read with their :func:`_context` and without its marks."""
    bounds = [] if upto is None else [f"{ROW} <= {upto}"]
    context = None if after is None else _context(db, events, after)
    if context is not None:
        bounds.append(f"{ROW} >= {context}")
    rows = f"(SELECT * FROM {events} WHERE {' AND '.join(bounds)})" if bounds else events
    query = _marks_query(rows)
    return query if after is None else f"SELECT * FROM ({query}) WHERE lo > {after}"


def _context(db: duckdb.DuckDBPyConnection, events: str, cut: int) -> int | None:
    """The lower of the two largest rows of ``events`` up to ``cut`` (the only one if
    one, None if none): with them, the events after ``cut`` have the predecessors
    ``lag(…, 2)`` reads in one pass. Rows may have gaps (the dropped events), so
    they are looked up, not taken as ``cut - 1``: first among the :data:`_NEAR`
    rows before the cut (the reader skips the others), then below it all."""
    rows = _last_rows(db, events, f"{ROW} <= {cut} AND {ROW} > {cut - _NEAR}")
    if len(rows) < 2:  # (a gap before the cut)
        rows = _last_rows(db, events, f"{ROW} <= {cut}")
    return min(rows, default=None)


def _last_rows(db: duckdb.DuckDBPyConnection, events: str, condition: str) -> list[int]:
    """The two largest rows of ``events`` that meet ``condition``."""
    query = f"SELECT {ROW} FROM {events} WHERE {condition} ORDER BY {ROW} DESC LIMIT 2"
    return [int(row) for (row,) in db.sql(query).fetchall()]


def _run_at_once(db: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    """Run ``statements`` at the same time, each on its own cursor of ``db`` (DuckDB
    releases the GIL while a statement runs), with ``db``'s time zone."""
    zone = db.sql("SELECT current_setting('TimeZone')").fetchall()[0][0]
    zone_setting = "SET TimeZone = '{}'".format(str(zone).replace("'", "''"))

    def run(statement: str) -> None:
        with db.cursor() as cursor:
            cursor.execute(zone_setting)
            cursor.execute(statement)

    with ThreadPoolExecutor(len(statements)) as pool:
        list(pool.map(run, statements))


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
            group_journeys(
                self.db,
                "ev_final",
                in_order=self.streams_in_order,
                last_row=self._filled.get("TRUE"),  # (ev is numbered 1 to its rows)
            )
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
