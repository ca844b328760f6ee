"""Repeated events: the rows equal to an earlier event on the duplicate key."""

from __future__ import annotations

import pandas as pd

from peakend.loading.duck.canonical import CanonicalEvents
from peakend.loading.duck.problems import ProblemRecording
from peakend.loading.duck.source import SourceReading
from peakend.validate import ROW, Reason

_KEYS = ("jid", "tp", "ts", "score_final", "channel", "text")
"""The duplicate key: two events equal on these columns are the same event."""


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
    hashed = f"CASE WHEN ts IS NOT NULL THEN hash({', '.join(_KEYS)}) END"
    hashes = "array_agg(h) FILTER (WHERE h IS NOT NULL)"
    return (
        f"CREATE OR REPLACE TABLE key_groups AS SELECT jid, min({ROW}) AS lo, "
        f"array_length(array_distinct({hashes})) < count(h) AS repeated "
        f"FROM (SELECT jid, {ROW}, {hashed} AS h FROM {events}) GROUP BY jid"
    )


class Duplicates(ProblemRecording, SourceReading, CanonicalEvents):
    """Quarantines every repeat of an event (the first copy is kept)."""

    def _drop_duplicates_sql(self) -> None:
        if not self._count("ev", "keep AND ts IS NOT NULL"):
            return
        if not (self._grouped and self._counts):
            # (the count pass built them over the same events unless a check dropped one)
            self.db.sql(journey_groups("ev_final"))
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
