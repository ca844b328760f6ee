"""The canonical events: the kept events' columns as the engine reads them, left
on the connection (:class:`~peakend.loading.events.EventSource`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from peakend.loading.duck.base import _EMPTY, _FINAL, DuckBase
from peakend.loading.duck.sql import _q
from peakend.validate import ROW

if TYPE_CHECKING:
    from peakend.loading.events import EventSource


class CanonicalEvents(DuckBase):
    """The kept events, as a view for the checks and as the loaded events."""

    def _event_rows(self, where: str, *, table: str = "ev_final") -> pd.DataFrame:
        """Canonical events where ``where`` holds, typed as the pandas loader's frame
        (duplicates are quarantined with the event, not the raw row); ``table`` has
        the columns of ``ev_final``."""
        frame = (
            self.db.sql(
                f"SELECT {ROW}, jid AS journey_id, tp AS touchpoint, customer AS customer_id, "
                "channel, initiated_by, text, lang, seq, ts, score_final AS score, "
                f"valence_final AS valence FROM {table} WHERE {where} ORDER BY {ROW}"
            )
            .to_arrow_table()
            .to_pandas()
        )
        assert isinstance(frame, pd.DataFrame)
        for name in ("journey_id", "touchpoint", "customer_id", "channel", "initiated_by"):
            frame[name] = frame[name].astype("string")
        for name in ("text", "lang"):
            frame[name] = frame[name].astype("string")
        frame["ts"] = frame["ts"].astype("datetime64[us, UTC]")
        frame["score"] = frame["score"].astype("float64")
        frame["valence"] = frame["valence"].astype("float64")
        return frame

    def _final_view(self) -> None:
        """View ``ev_final``: the kept events' canonical columns, as stored in ``ev``."""
        self.db.sql(f"CREATE OR REPLACE VIEW ev_final AS {self._final_select()} WHERE keep")

    def _final_select(self, empty: set[str] | frozenset[str] = frozenset()) -> str:
        """The canonical columns of the events in ``ev`` (``ev_final``'s names);
        the columns in ``empty`` (of :data:`_EMPTY`) as NULL.

        The cast of the sequence is made here, on read: a value too large for a
        whole number then fails only if its row is kept, as in the pandas loader.
        """
        customer = "customer_id" if "customer_id" in self.columns else "jid"
        channel, text, lang = (f"CAST(NULL AS VARCHAR) AS {c}" if c in empty else c for c in _EMPTY)
        return (
            f"SELECT {ROW}, jid, {customer} AS customer, ts, "
            f"CAST(trunc(seq_value) AS BIGINT) AS seq, tp, {channel}, "
            f"initiator AS initiated_by, score_final, valence_final, {text}, {lang} FROM ev"
        )

    def _event_source(self) -> EventSource:
        """The loaded events, left on this connection (the engine reads them there);
        the work tables the checks needed are dropped to give their memory back."""
        from peakend.loading.events import EventSource

        if self._view:
            return self._view_source()
        # The kept events stay in table ``ev``, where the checks computed their
        # canonical values: the rows a check dropped are deleted and the work columns
        # (flags, scales, raw values) dropped, both without a copy. A copy of the kept
        # events cost 2.4 CPU seconds at 10M events, the same work the checks did.
        for name, kind in self.db.sql(
            "SELECT table_name, table_type FROM information_schema.tables"
        ).fetchall():
            if name != "ev":
                what = "VIEW" if "VIEW" in str(kind) else "TABLE"
                self.db.sql(f"DROP {what} IF EXISTS {_q(str(name))}")
        if self.report.events_loaded < self._count("ev", "TRUE"):
            self.db.sql("DELETE FROM ev WHERE NOT keep")
        # Columns without a single value (no texts, no language) are not kept as ten
        # million empty cells: the events read NULL in their place.
        counts = self.db.sql(f"SELECT {', '.join(f'count({c})' for c in _EMPTY)} FROM ev")
        empty = {c for c, n in zip(_EMPTY, counts.fetchall()[0], strict=True) if not n}
        customer = "customer_id" if "customer_id" in self.columns else "jid"
        needed = {ROW, customer, *_FINAL} - empty
        for column in self._ev_columns():
            if column not in needed:
                self.db.sql(f"ALTER TABLE ev DROP COLUMN {_q(column)}")
        kept = self._final_select(empty=empty)
        select = (
            f"SELECT {ROW}, jid AS journey_id, customer AS customer_id, ts, seq, "
            "tp AS touchpoint, channel, initiated_by, score_final AS score, "
            f"valence_final AS valence, text, lang FROM ({kept}) AS kept"
        )
        self.db.execute("RESET preserve_insertion_order")  # the engine's queries as elsewhere
        return EventSource(self.db, select, n_rows=self.report.events_loaded, row=ROW)

    def _view_source(self) -> EventSource:
        """The kept events as a view over the source (:meth:`_in_place`); the work
        tables of the checks are dropped, and columns without a value read NULL."""
        from peakend.loading.events import EventSource

        needed = {"raw", "ev", "ev_dropped", "scale_of"}
        for name, kind in self.db.sql(
            "SELECT table_name, table_type FROM information_schema.tables"
        ).fetchall():
            if name not in needed:
                what = "VIEW" if "VIEW" in str(kind) else "TABLE"
                self.db.sql(f"DROP {what} IF EXISTS {_q(str(name))}")
        empty = {c for c in _EMPTY if not self._filled[c]}
        kept = f"{self._final_select(empty=empty)} WHERE keep"
        select = (
            f"SELECT {ROW}, jid AS journey_id, customer AS customer_id, ts, seq, "
            "tp AS touchpoint, channel, initiated_by, score_final AS score, "
            f"valence_final AS valence, text, lang FROM ({kept}) AS kept"
        )
        self.db.execute("RESET preserve_insertion_order")
        return EventSource(self.db, select, n_rows=self.report.events_loaded, row=ROW)
