"""Repeated events: the rows equal to an earlier event on the duplicate key."""

from __future__ import annotations

import pandas as pd

from peakend.loading.duck.canonical import CanonicalEvents
from peakend.loading.duck.problems import ProblemRecording
from peakend.loading.duck.source import SourceReading
from peakend.validate import ROW, Reason

_LISTED = 10_000
"""Most pairs of repeated duplicate-key hashes read back by row number."""


class Duplicates(ProblemRecording, SourceReading, CanonicalEvents):
    """Quarantines every repeat of an event (the first copy is kept)."""

    def _drop_duplicates_sql(self) -> None:
        if not self._count("ev", "keep AND ts IS NOT NULL"):
            return
        keys = "jid, tp, ts, score_final, channel, text"
        # Rows whose key hash repeats first (an aggregate over one 64-bit column, far
        # cheaper than over the text keys; few hashes repeat), then groups of equal
        # events among those candidates only, then every row of a group after its first.
        # The same pass finds each journey's first row, for the outcome table
        # (:attr:`_journey_rows`): dropping repeats cannot change it, since every
        # repeat follows an equal event, of the same journey, that is kept.
        self.db.sql(
            "CREATE TABLE key_groups AS SELECT GROUPING(jid) = 1 AS by_hash, jid, h, "
            f"min({ROW}) AS lo, max({ROW}) AS hi, count(*) AS n FROM (SELECT jid, {ROW}, "
            f"CASE WHEN ts IS NOT NULL THEN hash({keys}) END AS h FROM ev_final) "
            "GROUP BY GROUPING SETS ((jid), (h)) "
            "HAVING GROUPING(jid) = 0 OR (h IS NOT NULL AND count(*) > 1)"
        )
        self.db.sql("CREATE VIEW dup_hashes AS SELECT h, lo, hi, n FROM key_groups WHERE by_hash")
        self._journey_rows = "SELECT jid, lo AS order_row FROM key_groups WHERE NOT by_hash"
        repeated, most = self.db.sql("SELECT count(*), max(n) FROM dup_hashes").fetchall()[0]
        if not repeated:
            return  # no key repeats: no second pass over the events
        # The candidates with every canonical column: the groups of equal events,
        # the repeats and their quarantine lines come from those rows alone.
        if most == 2 and repeated <= _LISTED:
            # Every repeated hash has two rows, known by number: read just those.
            pairs = self.db.sql("SELECT lo, hi FROM dup_hashes").fetchall()
            self._candidates_by_number(sorted(int(r) for pair in pairs for r in pair))
        else:
            self.db.sql(
                "CREATE TABLE dup_candidates AS SELECT * FROM ev_final "
                f"WHERE ts IS NOT NULL AND hash({keys}) IN (SELECT h FROM dup_hashes)"
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

    def _candidates_by_number(self, rows: list[int]) -> None:
        """Table ``dup_candidates``: the events ``rows`` (data row numbers).

        When the events are a view over a Parquet file, the file is read at those
        rows only (:meth:`_source_rows`): a filter on the view's row numbers would
        read every row of every column of the file (0.8 CPU seconds at 10M events).
        """
        listed = f"{ROW} IN ({', '.join(str(r) for r in rows)})"
        select = f"CREATE TABLE dup_candidates AS SELECT * FROM ev_final WHERE {listed}"
        if not self._view:
            self.db.sql(select)
            return
        with self._source_rows(rows):
            self.db.sql(select)
