"""The DuckDB loader: the checks of :mod:`peakend.load` as SQL over the source file.

DuckDB reads the file in place (Parquet, CSV, gzip CSV, JSON lines) into one
table numbered by data row. Each check the pandas loader makes, in the same
order, becomes a column of flags; counts and first rows come from aggregate
queries, and only the rows that fail (the quarantine) or the five first
examples of a note come back to Python, where the same
:class:`~peakend.validate.Problem` and :class:`~peakend.validate.Quarantine`
code as the pandas loader words them.

The events are parsed, stripped and checked in one pass into one table
(``ev``) that also holds their canonical values (score, valence, initiator);
the checks read its flags, and the engine reads the kept events from the same
table afterwards (:meth:`DuckLoader._event_source`): no second copy, no view
that recomputes them for every query. What the column types make certain is
not checked value by value: a typed Parquet number needs no parse, and a
dictionary-encoded text column whose few distinct values need no stripping is
read as it is.

A Parquet source with typed times and numbers has nothing to parse, so ``ev``
is a view over the file instead of a table (:meth:`DuckLoader._in_place`): its
identifier columns are checked once for values that stripping would change,
one aggregate counts the events every check looks for
(:meth:`DuckLoader._count_checks`), only the checks that find something query
their rows, and the rows dropped are listed in a small table the view leaves
out. The engine then reads the file through that view.

A CSV source is a view over DuckDB's reader whose rows are numbered in the
file's order; the table of events is parsed and checked in one pass on every
thread, stored in the file's order and numbered afterwards by its place in the
table (:meth:`~peakend.loading.duck.checks.EventChecks._numbered_later`), and
the raw text is read again only for the rows a check reports. Its numbers are
read as numbers, and its times, when all have the first one's shape, without a
regular expression; a value that read cannot take sends the load down the text
path (:meth:`~peakend.loading.duck.checks.EventChecks._typed_events`).

Each family of checks is a module of its own: reading the source
(:mod:`~peakend.loading.duck.source`), the SQL of the column values
(:mod:`~peakend.loading.duck.columns`), the column checks and their count pass
(:mod:`~peakend.loading.duck.checks`), duplicates, outcomes, the catalogue, the
problem and quarantine wording (:mod:`~peakend.loading.duck.problems`), the
kept events (:mod:`~peakend.loading.duck.canonical`) and the events of a wide
survey export (:mod:`~peakend.loading.duck.wide`); :class:`DuckLoader` runs them
in the pandas loader's order.

Values SQL cannot read are handed to the pandas parsers of
:mod:`peakend.validate`; if pandas reads any of them (a format DuckDB does not
know), the load raises :class:`Unsupported` and the pandas loader runs instead,
so both loaders always give the same result.
"""

from __future__ import annotations

from peakend.load import Dataset, as_events
from peakend.loading.duck.base import Unsupported
from peakend.loading.duck.catalogue import Catalogue
from peakend.loading.duck.duplicates import Duplicates
from peakend.loading.duck.outcomes import Outcomes
from peakend.loading.duck.wide import WideLayout
from peakend.validate import ROW


class DuckLoader(Catalogue, Outcomes, Duplicates, WideLayout):
    """One load through DuckDB; problem wording and the quarantine are the pandas loader's."""

    def run(self) -> Dataset:
        import duckdb

        try:
            return self._run()
        except duckdb.Error as exc:
            self.db.close()
            raise Unsupported(f"DuckDB could not read the source: {exc}") from exc
        except BaseException:
            self.db.close()
            raise
        finally:
            if self._staging is not None:  # (the kept events are a table by now)
                self._staging.cleanup()

    def _run(self) -> Dataset:
        self._read(self.spec.source, "raw")
        columns = [c for c in self.types if c != ROW]
        # (the pandas loader checks the columns before it derives any)
        head = self._head("raw", 2).drop(columns=list(self._derived))
        self._check_export_shape(head)
        self._check_columns(head)
        self._events()
        self.report.rows_read = self._rows_read()
        self._drop_duplicates_sql()
        outcomes = self._outcomes_sql(columns)
        self._check_catalogue_sql()
        self.report.events_loaded = self._kept()
        self.report.journeys = self._count("outcome_table", "TRUE")  # one row per journey
        self.report.quarantined_rows = self.quarantine.n_rows
        touchpoints = self._catalogue_sql()
        events = self._event_source()
        return Dataset(
            spec=self.spec,
            events=as_events(events),
            outcomes=outcomes,
            touchpoints=touchpoints,
            quarantine=self.quarantine.table(),
            report=self.report,
        )
