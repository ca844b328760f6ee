"""The DuckDB loader's SQL run on a Spark session: the checks are defined once.

:class:`~peakend.loading.duck.DuckLoader` states every check as DuckDB SQL. On
Spark the same statements run through :class:`SparkSQL`, which stands in for the
DuckDB connection: each statement is translated to Spark SQL with ``sqlglot``
(the SQL translator Ibis itself uses for its PySpark backend), and the few kinds
of statement Spark has no equivalent for are carried out on DataFrames:

* ``CREATE TABLE name AS SELECT``: the query's result, computed once and kept
  on the executors (a local checkpoint), as a temporary view;
* ``CREATE VIEW name AS SELECT``: a temporary view, re-created from its SQL each
  time a table it may read changes (DuckDB views are live; Spark views over a
  DataFrame are not);
* ``UPDATE name SET column = value [WHERE condition]``: the table redefined with
  ``CASE WHEN condition THEN value ELSE column END``, not computed: the next
  queries evaluate the few ``CASE`` expressions as they read the table (the
  loader's updates only clear the ``keep`` flag), instead of every update
  writing the whole table again. Before a table such a definition reads is
  dropped or replaced, the updated tables are computed (a local checkpoint); so
  is an update whose condition reads another table (a subquery: a join that
  every later read would repeat);
* ``DROP``, ``DESCRIBE`` (Spark types given under DuckDB's names) and ``SET``
  (ignored: the session is set up once, in :mod:`peakend.loading.spark_session`).

Only the loader's own statements go through here; it is not a general DuckDB
emulation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from peakend.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_DUCK_TYPES = {
    "StringType": "VARCHAR",
    "VarcharType": "VARCHAR",
    "CharType": "VARCHAR",
    "ByteType": "TINYINT",
    "ShortType": "SMALLINT",
    "IntegerType": "INTEGER",
    "LongType": "BIGINT",
    "FloatType": "FLOAT",
    "DoubleType": "DOUBLE",
    "BooleanType": "BOOLEAN",
    "DateType": "DATE",
    "TimestampType": "TIMESTAMP WITH TIME ZONE",
    "TimestampNTZType": "TIMESTAMP",
}


def duck_type(spark_type: Any) -> str:
    """The DuckDB name of a Spark data type (as ``DESCRIBE`` gives it in DuckDB)."""
    name = type(spark_type).__name__
    if name == "DecimalType":
        return f"DECIMAL({spark_type.precision},{spark_type.scale})"
    return _DUCK_TYPES.get(name, name.removesuffix("Type").upper())


def to_arrow(frame: DataFrame) -> pa.Table:
    """A Spark DataFrame as an Arrow table (``toArrow`` from Spark 4, the same
    transfer under its former name in Spark 3.5)."""
    if hasattr(frame, "toArrow"):
        table: pa.Table = frame.toArrow()
        return table
    collect: Any = getattr(frame, "_collect_as_arrow")  # noqa: B009  (a private method)
    batches = collect()
    schema = batches[0].schema if batches else None
    return pa.Table.from_batches(batches, schema=schema) if batches else _empty(frame)


def _empty(frame: DataFrame) -> pa.Table:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(frame.schema).empty_table()


def to_spark(query: str) -> str:
    """One DuckDB statement (or expression) written as Spark SQL."""
    return str(_parsed(query).sql("spark"))


def _parsed(query: str) -> Any:
    """One DuckDB statement (or expression) as ``sqlglot`` parses it, with what it
    reads wrongly of DuckDB put right.

    ``sqlglot`` takes DuckDB's ``concat_ws`` to read a missing value as ``''`` and
    writes each argument as ``COALESCE(x, '')`` for Spark; both leave missing
    values out (a joined touchpoint's empty parts,
    :func:`~peakend.loading.duck.derived.joined_sql`).
    """
    from sqlglot import exp, parse_one

    statement = parse_one(query, read="duckdb")
    for concat in statement.find_all(exp.ConcatWs):
        concat.set("coalesce", False)
    return statement


class SparkResult:
    """What a query gives back: rows (``fetchall``) or an Arrow table, on demand."""

    def __init__(self, frame: DataFrame | None, rows: list[tuple[Any, ...]] | None = None):
        self._frame = frame
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row as a tuple."""
        if self._rows is not None:
            return self._rows
        if self._frame is None:
            return []
        return [tuple(row) for row in self._frame.collect()]

    def to_arrow_table(self) -> pa.Table:
        """Every row as an Arrow table (through Spark's Arrow transfer)."""
        assert self._frame is not None, "a statement without rows"
        return to_arrow(self._frame)


class SparkSQL:
    """The part of a DuckDB connection the loader uses, on a Spark session.

    Tables and views live as temporary views of ``session``; :meth:`close`
    releases every table this object persisted and drops its views.
    """

    def __init__(self, session: SparkSession) -> None:
        self.session = session
        self.tables: dict[str, DataFrame] = {}
        self.views: dict[str, str] = {}
        #: Updated tables not computed since, with the computed tables they are defined on.
        self.pending: dict[str, list[DataFrame]] = {}

    # -- the connection interface ------------------------------------------------

    def execute(self, statement: str) -> None:
        """``SET`` statements are DuckDB settings: nothing to do on Spark."""
        if not statement.lstrip().upper().startswith("SET "):
            self.sql(statement)

    def sql(self, query: str) -> SparkResult:
        """Run one DuckDB statement on Spark (see the module's docstring)."""
        from sqlglot import exp

        statement = _parsed(query)
        if isinstance(statement, exp.Create):
            self._create(statement)
            return SparkResult(None)
        if isinstance(statement, exp.Update):
            self._update(statement)
            return SparkResult(None)
        if isinstance(statement, exp.Drop):
            self.drop(statement.this.name)
            return SparkResult(None)
        if isinstance(statement, exp.Describe):
            return self._describe(statement.this.sql("spark"))
        return SparkResult(self.session.sql(statement.sql("spark")))

    def close(self) -> None:
        """Release every persisted table and drop every view made here."""
        for name in [*self.tables, *self.views]:
            self.drop(name, settle=False)

    # -- tables and views ----------------------------------------------------------

    def register(self, name: str, frame: DataFrame) -> DataFrame:
        """Compute ``frame`` now as table ``name`` (kept on the executors) and refresh the views.

        A local checkpoint, not a cache: it cuts the lineage, so each check's plan
        stays as short as its own SQL instead of growing with every step before it.
        """
        frame = frame.localCheckpoint(eager=True)
        old = self.tables.get(name)
        released = [old, *self.pending.pop(name, [])]
        if old is not None:
            self._settle()  # another updated table may be defined on the old one
        frame.createOrReplaceTempView(name)
        self.tables[name] = frame
        for table in released:
            if table is not None:
                table.unpersist()
        self._refresh_views()
        return frame

    def drop(self, name: str, *, settle: bool = True) -> None:
        """Drop table or view ``name`` (nothing if it does not exist).

        With ``settle`` the updated tables are computed first: one may read ``name``.
        """
        if settle and name in self.tables and name not in self.pending:
            self._settle()
        frame = self.tables.pop(name, None)
        if frame is not None:
            frame.unpersist()
        for base in self.pending.pop(name, []):
            base.unpersist()
        self.views.pop(name, None)
        self.session.catalog.dropTempView(name)

    def _redefine(self, name: str, frame: DataFrame) -> None:
        """Table ``name`` as ``frame`` from now on, computed only as queries read it."""
        bases = self.pending.setdefault(name, [])
        if not bases:
            bases.append(self.tables[name])  # the computed table the definition reads
        frame.createOrReplaceTempView(name)
        self.tables[name] = frame
        self._refresh_views()

    def _settle(self) -> None:
        """Compute every updated table now and release what its definition read."""
        for name, bases in list(self.pending.items()):
            frame = self.tables[name].localCheckpoint(eager=True)
            frame.createOrReplaceTempView(name)
            self.tables[name] = frame
            del self.pending[name]
            for base in bases:
                base.unpersist()
        self._refresh_views()

    def _create(self, statement: Any) -> None:
        name = statement.this.name
        select = statement.expression
        if select is None:
            # the DuckDB loader fills such tables itself; Spark ones come from register()
            raise ConfigError(
                f"the Spark backend cannot run CREATE {name} without a query; drop "
                "--backend spark (and unset PEAKEND_BACKEND) to load this source with DuckDB"
            )
        query = _aliases_before_where(select).sql("spark")
        if str(statement.args.get("kind", "")).upper() == "VIEW":
            self.views[name] = query
            self.session.sql(query).createOrReplaceTempView(name)
        else:
            self.register(name, self.session.sql(query))

    def _update(self, statement: Any) -> None:
        from sqlglot import exp

        name = statement.this.name
        where = statement.args.get("where")
        condition = where.this.sql("spark") if where is not None else None
        changes = {
            assignment.this.name: assignment.expression.sql("spark")
            for assignment in statement.expressions
            if isinstance(assignment, exp.EQ)
        }
        columns = []
        for column in self.session.table(name).columns:
            quoted = f"`{column}`"
            if column in changes:
                value = changes[column]
                if condition is not None:
                    value = f"CASE WHEN {condition} THEN {value} ELSE {quoted} END"
                columns.append(f"{value} AS {quoted}")
            else:
                columns.append(quoted)
        frame = self.session.sql(f"SELECT {', '.join(columns)} FROM {name}")
        if where is not None and where.find(exp.Select) is not None:
            # a condition over another table (a join) would be evaluated by every read
            self.register(name, frame)
        else:
            self._redefine(name, frame)

    def _refresh_views(self) -> None:
        for name, query in self.views.items():
            self.session.sql(query).createOrReplaceTempView(name)

    def _describe(self, target: str) -> SparkResult:
        if target.upper().startswith("SELECT"):
            schema = self.session.sql(target).schema
        else:
            schema = self.session.table(target).schema
        rows = [(f.name, duck_type(f.dataType), "YES") for f in schema.fields]
        return SparkResult(None, rows)


def _aliases_before_where(select: Any) -> Any:
    """``SELECT a AS x FROM t WHERE x …`` as ``SELECT * FROM (SELECT a AS x FROM t) WHERE x …``.

    DuckDB lets a ``WHERE`` use the select list's aliases; Spark does not.
    """
    from sqlglot import exp

    where = select.args.get("where") if isinstance(select, exp.Select) else None
    if where is None:
        return select
    aliases = {p.alias for p in select.expressions if isinstance(p, exp.Alias)}
    used = {c.name for c in where.find_all(exp.Column)}
    if not used & aliases:
        return select
    inner = select.copy()
    inner.set("where", None)
    return exp.select("*").from_(inner.subquery("aliased")).where(where.this.copy())
