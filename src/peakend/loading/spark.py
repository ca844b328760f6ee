"""The Spark loader: the DuckDB loader's checks, run on a Spark session.

:class:`SparkLoader` is :class:`~peakend.loading.duck.DuckLoader` with a Spark
session in place of the DuckDB connection (:class:`~peakend.loading.sparksql.SparkSQL`
translates its statements). Every check, problem wording and quarantine line is
therefore the DuckDB loader's; what differs is only how the source is read
(Spark's Parquet and CSV readers, rows numbered in file order), the time-zone
arithmetic (Spark's functions for DuckDB's ``timezone``), and where the loaded
events stay: a persisted table on the session (:class:`SparkEventSource`), from
which only aggregates come back.

The columns the spec derives (``@row`` journey ids, joined touchpoints) are the
DuckDB loader's SQL (:mod:`~peakend.loading.duck.derived`), translated. Spark's CSV
reader skips no lines: a file with extra header rows (or lines before them) is read
from its first line, in the columns the DuckDB loader names from the header rows,
and the records before the first data row are dropped once numbered; as on DuckDB,
the first row kept must be the pandas reader's first data row.

A database table or query is streamed on the driver into a Parquet file
(:func:`~peakend.io.database.stage_database`, as the DuckDB loader reads it), which
Spark reads and keeps as a local checkpoint; the file is removed when the load ends.
An XES log or an Excel sheet is read from the Parquet file it is streamed into
once, in peakend's cache folder (:mod:`peakend.io.converted`). Only a session in
local mode can read any of these: the executors of a cluster cannot see the
driver's disk.

A declared ``timestamp_format`` is read with Spark's ``try_to_timestamp`` and the
same fields (:func:`~peakend.loading.duck.time_format.java_pattern`), behind the
same regular expression as on DuckDB.

What the DuckDB loader hands to the pandas loader (formats DuckDB cannot
reproduce), a ``timestamp_format`` Spark's pattern letters cannot say, databases,
XES logs and Excel sheets on a cluster, and what the DuckDB loader reads from a
UTF-8 copy (JSON lines or CSV in encodings Spark's readers lack) have no Spark
path: it is refused with a :class:`~peakend.errors.ConfigError` that names the
option to drop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from peakend.errors import ConfigError, SourceError
from peakend.io.database import DATABASE_FORMATS
from peakend.io.files import BadRows, read_text
from peakend.io.jsonl import broken_line_error, jsonl_keys, not_an_object
from peakend.load import Dataset, _Loader
from peakend.loading.duck import (
    DuckLoader,
    Unsupported,
    _parquet_frame,
    unsupported,
)
from peakend.loading.duck.base import CONVERTED, TEXT_FORMATS
from peakend.loading.duck.derived import text_view_order
from peakend.loading.duck.source import _opening, _utf8_lines
from peakend.loading.duck.time_format import java_pattern
from peakend.loading.events import EventSource
from peakend.loading.sparksql import SparkSQL, duck_type, to_arrow, to_spark
from peakend.schema import EVENT_SCHEMA
from peakend.spec import DatasetSpec, SourceSpec
from peakend.sqltext import literal
from peakend.validate import ROW

if TYPE_CHECKING:
    from pathlib import Path

    import ibis
    from pyspark.sql import DataFrame, DataFrameReader, SparkSession

_STAGED = (*CONVERTED, *DATABASE_FORMATS)
"""Formats whose rows are streamed into a Parquet file on this machine: Spark reads
them in local mode only."""
_CORRUPT = "__peakend_broken_line__"
"""The column Spark's JSON reader fills with a line that is not a JSON object."""
DROP_OPTION = "drop --backend spark (and unset PEAKEND_BACKEND) to load it with DuckDB"
VIEW = "peakend_events"


def load_on_spark(spec: DatasetSpec, session: SparkSession | None = None) -> Dataset:
    """Load ``spec`` on Spark (``session``, or :func:`spark_session`'s)."""
    sources = [s for s in (spec.source, spec.outcome_source) if s is not None]
    why = unsupported(spec) or _not_on_spark(spec)
    if why:
        raise ConfigError(f"{spec.name}: the Spark backend cannot load a {why} yet; {DROP_OPTION}")
    _refuse_staged_on_cluster(spec, sources, session)
    if session is None:
        from peakend.loading.spark_session import spark_session

        session = spark_session(spec.spark)
    dataset = SparkLoader(spec, session).run()
    dataset.report.loader = "spark"
    return dataset


class SparkLoader(DuckLoader):
    """One load on a Spark session; see the module's docstring."""

    counts_first = False
    """Each check queries on its own, as it always did on Spark."""

    streams_in_order = False
    """Spark's windows need an order (its rows come in no set order): the duplicate
    search groups the events by journey."""

    def __init__(self, spec: DatasetSpec, session: SparkSession) -> None:
        _Loader.__init__(self, spec)
        self.session = session
        self.spark = SparkSQL(session)
        self.db = self.spark  # type: ignore[assignment]  # the statements DuckLoader runs
        self.types: dict[str, str] = {}
        self.header: list[str] = []
        self.encoding = "utf-8"
        self.to_frame = _parquet_frame
        self._tp_counts = None
        self._names = None
        self._confirms = []
        self._counts = {}
        self._filled = {}
        self._view = False
        self._ev_query = ""
        self._symmetric = None

    def run(self) -> Dataset:
        try:
            return self._run()
        except Unsupported as exc:
            self.spark.close()
            raise ConfigError(
                f"{self.spec.name}: the Spark backend cannot load this source ({exc}); "
                f"{DROP_OPTION}"
            ) from exc
        except BaseException:
            self.spark.close()
            raise
        finally:
            if self._staging is not None:  # (Spark keeps its own copy: a local checkpoint)
                self._staging.cleanup()

    # -- reading -------------------------------------------------------------

    def _read(self, source: SourceSpec, name: str) -> None:
        """Source ``name`` as a persisted table with its 1-based data row number; the
        events' source (``raw``) with the columns the spec derives, last, as in the
        DuckDB loader's view of it (:meth:`_derive`)."""
        frame = self._source_frame(source, name)
        names = [c for c in frame.columns if c != _CORRUPT]
        if ROW in names:
            raise Unsupported(f"a column named {ROW}")
        if source.format == "csv":
            frame = _csv_cells(frame, names, self.header)
        fields = {f.name: duck_type(f.dataType) for f in frame.schema.fields}
        described = [(c, fields[c]) for c in names]
        derived = self._derive(name, described)
        if source.format in TEXT_FORMATS:
            derived = text_view_order(derived)
        numbered = _after_header(_numbered(frame), source)
        table = self.spark.register(name, _with_derived(numbered, derived))
        if _CORRUPT in frame.columns:
            table = self._whole_records(source, name, [ROW, *names, *derived])
        if _header_rows(source):
            first = table.where(f"{ROW} = 1").select(*map(_spark_name, names)).collect()
            self._check_first_row(tuple(first[0]) if first else None, "Spark")
        if not self._count(name, "TRUE"):
            raise Unsupported("no data rows")
        if source.format in TEXT_FORMATS and self.encoding == "utf-8":
            self._refuse_replaced_bytes(source, name, names)
        if name == "raw":
            self._source_types(source, described)

    def _source_frame(self, source: SourceSpec, name: str) -> DataFrame:
        """Source ``name`` as Spark's reader gives it: every column of a text source
        as text, and a column of records that are not whole (:data:`_CORRUPT`) for
        JSON lines and a CSV file with extra header rows."""
        # a database, an XES log or an Excel sheet: streamed into a Parquet file on
        # this machine (a session in local mode reads it)
        staged = self._parquet_copy(source, name)
        location = str(staged) if staged is not None else _location(source)
        reader = self.session.read
        try:
            if source.format in ("parquet", *_STAGED):
                return reader.parquet(location)
            if source.format == "jsonl":
                schema = self._json_schema(source, location)
                lines = reader.schema(schema).option("columnNameOfCorruptRecord", _CORRUPT)
                return lines.json(location)
            frame = self._csv_reader(source, name == "raw").csv(location)
        except (ConfigError, SourceError, Unsupported):
            raise
        except Exception as exc:  # a path on a cluster that Spark cannot open
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceError(f"{source.label}: Spark cannot read it ({message})") from exc
        if _header_rows(source) and len(frame.inputFiles()) > 1:
            # (each file's header rows would be read as data rows)
            raise Unsupported("extra header rows in a source of several files")
        return frame

    def _refuse_replaced_bytes(self, source: SourceSpec, name: str, names: list[str]) -> None:
        """Spark replaces bytes that are not UTF-8 with U+FFFD where DuckDB stops and
        the pandas loader quarantines the rows: such a source is refused."""
        cells = ", ".join(_spark_name(c) for c in names)
        replaced = f"concat_ws('', {cells}) LIKE '%\ufffd%'"
        if self.session.table(name).where(replaced).limit(1).count():
            raise Unsupported(
                f"bytes that are not {source.encoding or 'UTF-8'}: declare the file's "
                'real encoding in [source] (e.g. encoding = "latin-1")'
            )

    def _json_schema(self, source: SourceSpec, location: str) -> Any:
        """Every key of the JSON lines as a text column, in the order DuckDB's reader
        gives them (on a cluster, in the order of Spark's inferred schema), and a
        column for lines that are not JSON objects."""
        if source.uri is not None:
            names = list(self.session.read.json(location).columns)
        else:
            import duckdb

            compression = _utf8_lines(source)
            _refuse_unnamed_gzip(source, compression)
            with duckdb.connect() as db:
                try:
                    names = jsonl_keys(db, literal(location), compression=compression)
                except duckdb.Error as exc:  # a broken line: named as the other loaders do
                    raise broken_line_error(source, read_text(source, BadRows()), exc) from exc
        return _text_schema([*(n for n in names if n != _CORRUPT), _CORRUPT])

    def _whole_records(self, source: SourceSpec, name: str, columns: list[str]) -> DataFrame:
        """Table ``name`` as its ``columns`` (without the column of records that are
        not whole), after checking that every data row is whole: a JSON line that is
        not an object is refused as the other loaders refuse it; a CSV row with more
        or fewer fields than the header, as DuckDB's reader refuses it (the pandas
        loader reads it)."""
        broken = self.session.table(name).where(f"{_CORRUPT} IS NOT NULL")
        first = broken.selectExpr(f"min({ROW})").collect()[0][0]
        if first is not None and source.format == "jsonl":
            raise not_an_object(source, int(first), "Spark could not parse it")
        if first is not None:
            raise Unsupported(f"row {first} with more or fewer fields than the header")
        kept = ", ".join(_spark_name(c) for c in columns)
        return self.spark.register(name, self.session.sql(f"SELECT {kept} FROM {name}"))

    def _csv_reader(self, source: SourceSpec, main: bool) -> DataFrameReader:
        """Spark's CSV reader set to read ``source`` as the DuckDB loader does.

        Spark's reader skips no lines: a file with extra header rows (or lines before
        them) is read from its first line, every record in the columns named from the
        header rows (:attr:`header`); the records before the data rows are dropped
        once numbered (:func:`_after_header`), and a record with other than the
        header's number of fields is marked (:data:`_CORRUPT`) rather than stopping
        the read on those first records.
        """
        reader = self.session.read.options(**self._csv_options(source, main))
        if not _header_rows(source):
            return reader
        marked = {"header": "false", "mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}
        return reader.options(**marked).schema(_text_schema([*self.header, _CORRUPT]))

    def _csv_options(self, source: SourceSpec, main: bool) -> dict[str, str]:
        """Spark CSV options with the delimiter and encoding the pandas reader would use."""
        if source.uri is not None:
            # not on this machine: the first lines through Spark (as UTF-8; see _read)
            lines = self.session.read.text(source.uri).limit(_HEAD_LINES).collect()
            head = "\n".join(str(line[0]) for line in lines).encode("utf-8")
            self.encoding, delimiter = self._csv_dialect(source, head, main)
            return _csv_options(self.encoding, delimiter)
        head, compression = _opening(source)
        _refuse_unnamed_gzip(source, compression)
        self.encoding, delimiter = self._csv_dialect(source, head, main)
        return _csv_options(self.encoding, delimiter)

    def _dictionary_clean(self, path: Path, table: str, wanted: set[str]) -> set[str]:
        """Every text column is stripped on Spark (no Parquet dictionaries to look at)."""
        return set()

    # -- Spark's time-zone functions -------------------------------------------

    def _local_time_sql(self, value: str) -> str:
        """As on DuckDB (:meth:`_unless_changing`), every time checked: a local time
        that does not exist or occurs twice at a daylight-saving change, of any size,
        is unreadable."""
        return self._unless_changing(value)

    def _in_format(self, text: str, fmt: str) -> str:
        """Spark's parse with the same fields (:func:`java_pattern`), every run of
        whitespace read as one space (as the pandas reader's pattern reads it)."""
        pattern = java_pattern(fmt)
        assert pattern is not None  # (refused before: _not_on_spark)
        spaced = rf"regexp_replace({text}, '\s+', ' ')"
        return f"try_to_timestamp({spaced}, {literal(pattern)})"

    def _instant_of(self, value: str) -> str:
        return f"to_utc_timestamp({value}, {literal(self.spec.source.timezone)})"

    def _wall_clock(self, instant: str) -> str:
        zone = literal(self.spec.source.timezone)
        return f"CAST(from_utc_timestamp({instant}, {zone}) AS TIMESTAMP)"

    def _utc_clock(self, instant: str) -> str:
        return f"({instant})"  # (Spark's times are instants read in UTC)

    def _scale_table(self) -> None:
        from pyspark.sql.types import (
            ArrayType,
            BooleanType,
            DoubleType,
            StringType,
            StructField,
            StructType,
        )

        scales = {n: self._scale(n) for n in self._touchpoint_names()}
        rows = [
            (n, float(s.low), float(s.high), float(s.midpoint), bool(s.reversed),
             [float(v) for v in s.not_applicable])
            for n, s in scales.items()
            if s is not None
        ]  # fmt: skip
        schema = StructType(
            [
                StructField("tp", StringType()),
                StructField("low", DoubleType()),
                StructField("high", DoubleType()),
                StructField("neutral", DoubleType()),
                StructField("reversed", BooleanType()),
                StructField("na", ArrayType(DoubleType())),
            ]
        )
        self.spark.register("scale_of", self.session.createDataFrame(rows, schema))

    # -- the loaded events stay on the session --------------------------------

    def _event_source(self) -> EventSource:
        self.db.sql("CREATE TABLE kept_events AS SELECT * FROM ev_final")
        kept = self.spark.tables.pop("kept_events")
        self.spark.close()  # the work tables of the checks
        frame = kept.selectExpr(
            ROW,
            "jid AS journey_id",
            "customer AS customer_id",
            "ts",
            "seq",
            "tp AS touchpoint",
            "channel",
            "initiated_by",
            "score_final AS score",
            "valence_final AS valence",
            "text",
            "lang",
        )
        return SparkEventSource(self.session, frame, kept, n_rows=self.report.events_loaded)


class SparkEventSource(EventSource):
    """Canonical events as a persisted table on a Spark session.

    The journey engine reads them through Ibis's PySpark backend
    (:meth:`ibis_table`), so only aggregates leave Spark; :meth:`commented` and
    :meth:`journey` bring back the few rows text scoring and a journey's chart
    read; :meth:`to_arrow` (what ``Dataset.events`` calls) brings every event to
    this process and suits small data only.
    """

    remote = True

    def __init__(
        self, session: SparkSession, frame: DataFrame, persisted: DataFrame, *, n_rows: int
    ) -> None:
        self.session = session
        self.frame: DataFrame | None = frame
        self._persisted = persisted
        self._commented: pa.Table | None = None
        self.n_rows = n_rows
        frame.createOrReplaceTempView(VIEW)

    @property
    def open(self) -> bool:
        return self.frame is not None

    @property
    def db(self) -> Any:
        raise RuntimeError("these events live on a Spark session, not a DuckDB connection")

    def ibis_table(self) -> tuple[Any, ibis.Table]:
        """Ibis's PySpark backend on the events' session and the events on it."""
        import ibis

        backend = ibis.pyspark.connect(self.session)
        return backend, backend.table(VIEW)

    def to_arrow(self) -> pa.Table:
        """Every event, in the canonical schema and order (journey, time, sequence)."""
        return self._arrow(self._frame())

    def commented(self) -> pa.Table:
        """The events with a comment, as :meth:`to_arrow` gives them (read once, then kept)."""
        if self._commented is None:
            self._commented = self._arrow(self._frame().where(self._column("text").isNotNull()))
        return self._commented

    def journey(self, journey_id: str) -> pa.Table:
        """The events of one journey, as :meth:`to_arrow` gives them."""
        return self._arrow(self._frame().where(self._column("journey_id") == journey_id))

    def _arrow(self, frame: DataFrame) -> pa.Table:
        frame = frame.orderBy("journey_id", self._column("ts").asc_nulls_last(), "seq", ROW)
        table = to_arrow(frame.drop(ROW))
        return table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)

    def write_parquet(self, path: Any) -> None:
        """Spark writes folders, not the single file the dataset cache keeps."""
        raise ConfigError(f"the dataset cache cannot be written from Spark; {DROP_OPTION}")

    def close(self) -> None:
        """Release the persisted events and drop their view."""
        if self.frame is not None:
            self._persisted.unpersist()
            self.session.catalog.dropTempView(VIEW)
            self.frame = None

    def _frame(self) -> DataFrame:
        if self.frame is None:
            raise RuntimeError("these events were read into memory and released on Spark")
        return self.frame

    def _column(self, name: str) -> Any:
        from pyspark.sql import functions

        return functions.col(name)

    def __repr__(self) -> str:
        state = "on Spark" if self.open else "released"
        return f"SparkEventSource({self.n_rows:,} events, {state})"


_HEAD_LINES = 200
"""Lines read to find the delimiter of a CSV file on a cluster."""


def _not_on_spark(spec: DatasetSpec) -> str | None:
    """What the DuckDB loader reads that Spark does not read the same way (None when
    the spec has none of it): a declared ``timestamp_format`` Spark's pattern letters
    cannot say (:func:`~peakend.loading.duck.time_format.java_pattern`)."""
    fmt = spec.source.timestamp_format
    if fmt is None or java_pattern(fmt) is not None:
        return None
    return f"timestamp_format {fmt!r} (a two-digit year, or two fields with nothing between)"


def _header_rows(source: SourceSpec) -> bool:
    """Whether ``source`` is a CSV file with lines to skip or header rows besides the
    column names."""
    return source.format == "csv" and (source.skip_rows != 0 or source.header_rows != 1)


def _refuse_unnamed_gzip(source: SourceSpec, compression: str) -> None:
    """Spark decompresses only files named ``*.gz``: a gzip file named otherwise is refused."""
    assert source.path is not None
    if compression == "gzip" and not source.path.name.endswith(".gz"):
        raise ConfigError(
            f"{source.label} is gzip-compressed: Spark decompresses files named *.gz "
            "only; rename it, or " + DROP_OPTION
        )


def _refuse_staged_on_cluster(
    spec: DatasetSpec, sources: list[SourceSpec], session: SparkSession | None
) -> None:
    """A database, XES or Excel source needs a session in local mode (see the
    module's docstring); refused before a session to a cluster is started."""
    staged = next((s for s in sources if s.format in _STAGED), None)
    if staged is None:
        return
    from peakend.loading.spark_session import master_of

    master = master_of(session, spec.spark)
    if master.startswith("local"):
        return
    what = {"xes": "an XES log", "excel": "an Excel workbook"}.get(staged.format, "a database")
    how = " (Spark's JDBC reader does this)" if staged.format in DATABASE_FORMATS else ""
    raise ConfigError(
        f"{spec.name}: {staged.label} is {what}, which the Spark backend reads "
        f"only in local mode, not on {master!r}: its rows pass through this machine, "
        "whose files the cluster's executors cannot see. Write the rows as Parquet "
        f"where the cluster reads them{how} and point [source] at that, or {DROP_OPTION}"
    )


def _location(source: SourceSpec) -> str:
    """Where Spark reads ``source``: a cluster path as written, else the local file."""
    if source.uri is not None:
        return source.uri  # Spark's reader says when it does not exist
    assert source.path is not None
    if not source.path.is_file():
        raise SourceError(f"{source.label}: no such file")
    return str(source.path)


_SPARK_CHARSETS = {"utf-8": "UTF-8", "latin-1": "ISO-8859-1"}
"""Spark's names of the encodings its CSV reader is given (by their DuckDB names):
it refuses ``latin-1``."""


def _csv_options(encoding: str, delimiter: str) -> dict[str, str]:
    """Spark CSV options that read as the DuckDB and pandas loaders do."""
    # multiLine: quoted values may hold line breaks (as DuckDB and pandas read them);
    # it also reads each file as one split, so rows keep the file's order.
    return {
        "header": "true",
        "sep": delimiter,
        "quote": '"',
        "escape": '"',
        "encoding": _SPARK_CHARSETS[encoding],
        "multiLine": "true",
        "mode": "FAILFAST",
        "inferSchema": "false",
    }


def _spark_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _text_schema(names: list[str]) -> Any:
    """A Spark schema of the text columns ``names``."""
    from pyspark.sql.types import StringType, StructField, StructType

    return StructType([StructField(n, StringType()) for n in names])


def _csv_cells(frame: DataFrame, names: list[str], header: list[str]) -> DataFrame:
    """The cells of a CSV source, columns ``names``, as the pandas reader gives them
    (it reads with ``skipinitialspace``: spaces after the delimiter go; empty is
    missing), after checking that Spark named the columns as the header does."""
    if names != [h.strip() for h in header]:
        raise Unsupported("column names Spark reads differently")
    cells = (f"nullif(ltrim({_spark_name(c)}), '') AS {_spark_name(c)}" for c in names)
    return frame.selectExpr(*cells, *(c for c in frame.columns if c == _CORRUPT))


def _after_header(frame: DataFrame, source: SourceSpec) -> DataFrame:
    """``frame`` (numbered from the file's first record) without the records before
    the data rows of a CSV file with extra header rows, numbered from its first data
    row as the other loaders number it."""
    if not _header_rows(source):
        return frame
    from pyspark.sql import functions as F

    before = source.skip_rows + source.header_rows
    row = (F.col(ROW) - before).alias(ROW)
    rest = [F.col(_spark_name(c)) for c in frame.columns if c != ROW]
    return frame.where(F.col(ROW) > before).select(row, *rest)


def _with_derived(frame: DataFrame, derived: dict[str, str]) -> DataFrame:
    """``frame`` with the columns ``derived`` (name: the DuckDB loader's SQL,
    :mod:`~peakend.loading.duck.derived`) added last."""
    added = (f"{to_spark(sql)} AS {_spark_name(c)}" for c, sql in derived.items())
    return frame.selectExpr("*", *added) if derived else frame


def _numbered(frame: DataFrame) -> DataFrame:
    """``frame`` with the 1-based row number of each row in the file, first.

    Rows are numbered by (file split, position in the split): Spark reads a
    split's rows in file order, and a split's offset orders the splits. A source
    read as one split (a CSV file: it is read with ``multiLine``) is numbered as
    it is read, in the same pass; several splits need their sizes first, which
    reads the source a second time.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    names = list(frame.columns)
    if frame.rdd.getNumPartitions() == 1:
        # one split: the ids are 0, 1, 2 … in file order
        row = (F.monotonically_increasing_id() + 1).cast("bigint").alias(ROW)
        return frame.select(row, *(F.col(_spark_name(c)) for c in names))
    tagged = frame.select(
        "*",
        F.col("_metadata.file_block_start").alias("__block"),
        F.monotonically_increasing_id().alias("__id"),
    )
    blocks = tagged.groupBy("__block").agg(
        F.count("*").alias("__n"), F.min("__id").alias("__first")
    )
    before = Window.orderBy("__block").rowsBetween(Window.unboundedPreceding, -1)
    blocks = blocks.withColumn("__offset", F.coalesce(F.sum("__n").over(before), F.lit(0)))
    numbered = tagged.join(F.broadcast(blocks), "__block")
    row = (F.col("__offset") + F.col("__id") - F.col("__first") + 1).cast("bigint").alias(ROW)
    return numbered.select(row, *(F.col(_spark_name(c)) for c in names))
