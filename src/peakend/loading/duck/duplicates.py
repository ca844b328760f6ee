"""Repeated events: the rows equal to an earlier event on the duplicate key."""

from __future__ import annotations

import pandas as pd

from peakend.loading.duck.canonical import CanonicalEvents
from peakend.loading.duck.problems import ProblemRecording
from peakend.loading.duck.source import SourceReading
from peakend.validate import ROW, Reason


class Duplicates(ProblemRecording, SourceReading, CanonicalEvents):
    """Quarantines every repeat of an event (the first copy is kept)."""

    def _drop_duplicates_sql(self) -> None:
        if not self._count("ev", "keep AND ts IS NOT NULL"):
            return
        keys = "jid, tp, ts, score_final, channel, text"
        # Equal events share their journey: each journey's key hashes are checked for a
        # repeat (a short list per journey) instead of a hash table of every event's key
        # hash (ten million groups at 10M events, the larger cost). Few journeys have a
        # repeated hash; their events are the candidates, among which groups of equal
        # events, the repeats and their quarantine lines are found. The same pass finds
        # each journey's first row, for the outcome table (:attr:`_journey_rows`):
        # dropping repeats cannot change it, since every repeat follows an equal event,
        # of the same journey, that is kept.
        hashes = "array_agg(h) FILTER (WHERE h IS NOT NULL)"
        self.db.sql(
            f"CREATE TABLE key_groups AS SELECT jid, min({ROW}) AS lo, "
            f"array_length(array_distinct({hashes})) < count(h) AS repeated "
            f"FROM (SELECT jid, {ROW}, CASE WHEN ts IS NOT NULL THEN hash({keys}) END AS h "
            "FROM ev_final) GROUP BY jid"
        )
        self._journey_rows = "SELECT jid, lo AS order_row FROM key_groups"
        if not self._count("key_groups", "repeated"):
            return  # no key repeats: no second pass over the events
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
