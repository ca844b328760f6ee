"""The survey database connection: engines for SQLite and PostgreSQL, and migrations.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL``, so a
commit is on disk before it returns; ``secure_delete`` overwrites deleted rows
(erasure leaves no trace in free pages), the file and its WAL are created with
mode 0600 (they hold every answer), foreign keys are on, and a write
transaction can take the write lock up front (``BEGIN IMMEDIATE``, asked for with
the execution option ``sqlite_begin``). PostgreSQL URLs use psycopg 3. The schema
is made and upgraded only by the Alembic migrations in ``peakend/survey/migrations``.
"""

from __future__ import annotations

import sqlite3
import time
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from peakend.errors import ConfigError, SourceError
from peakend.survey.keys import make_private

MIGRATION_LOCK = 0x7065616B656E64  # an arbitrary, fixed advisory lock key

BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for another's lock before giving up."""
POOL_SIZE = 12
"""PostgreSQL connections per process, all kept open. SQLAlchemy's default (5, and
10 more that are closed again after each use) made bursts of requests open and
close server connections all the time (25 server processes in one benchmark run
of one worker), each a new server process that forks, authenticates and warms
its caches, and loses its prepared statements. Requests beyond these wait for a
free connection (at most :data:`POOL_TIMEOUT_S`, then 503); two cores gain
nothing from more transactions at once."""
POOL_TIMEOUT_S = 10.0
IDLE_PING_S = 5.0
"""A pooled PostgreSQL connection idle longer than this is checked before use."""


def database_url(db: str | Path) -> str:
    """A SQLAlchemy URL for ``db``: a file path (SQLite) or a database URL.

    ``postgresql://`` URLs use the psycopg 3 driver.
    """
    text = str(db)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def make_engine(db: str | Path) -> Engine:
    """An engine for the survey store (WAL, synchronous=FULL and foreign keys on SQLite)."""
    url = database_url(db)
    try:
        options: dict[str, Any] = {}
        if url.startswith("postgresql"):
            options = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT_S}
        engine = sa.create_engine(url, **options)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot use database {db!r}: {exc}") from exc
    if engine.dialect.name == "postgresql":
        _ping_when_idle(engine)
    if engine.dialect.name == "sqlite":
        file = sqlite_file(engine)
        if file is not None:
            for path in (
                file,
                file.with_name(file.name + "-wal"),
                file.with_name(file.name + "-shm"),
            ):
                if path == file or path.exists():
                    make_private(path)  # SQLite gives the WAL and shm the file's mode
        _configure_sqlite(engine)
    return engine


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database (None for PostgreSQL or an in-memory database)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Python's sqlite3 would open transactions itself; we issue BEGIN below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
            # A new, empty file only (elsewhere the pragma takes the write lock):
            # lets an erasure give free pages back to the file system.
            cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
        _switch_to_wal(cursor)
        for pragma in ("synchronous=FULL", "foreign_keys=ON", "secure_delete=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection before use when it sat idle a while.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip
    per request, one of the seven a submission waited for. A connection in steady use
    was just seen working, and one that breaks in use is dropped (the request
    gets 503, nothing acknowledged); only a connection idle for
    :data:`IDLE_PING_S` (through a server restart, say) is pinged, and replaced
    when the ping fails.
    """

    @sa.event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:  # the pool replaces the connection and tries again
            raise sa.exc.DisconnectionError(f"stale connection: {exc}") from exc


def _switch_to_wal(cursor: Any) -> None:
    """Put the database file in WAL mode (it stays so), retrying while another opens it.

    Switching a new file to WAL needs it to itself for a moment; when several
    processes open a new survey database at once, SQLite answers "database is
    locked" at once instead of waiting out the busy timeout. A file already in WAL
    mode needs no switch.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def alembic_config(connection: Connection) -> Config:
    """Alembic settings for the migrations shipped in the package, on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("peakend.survey") / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> str:
    """Create or upgrade the survey schema to the newest migration; returns its revision.

    Safe when several processes start at once (worker processes of one service):
    the migration runs under SQLite's write lock or a PostgreSQL advisory lock,
    so the others wait and then find the schema current.
    """
    try:
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                command.upgrade(alembic_config(connection), "head")
            revision = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise SourceError(f"cannot open the survey database: {exc.orig}") from exc
    return str(revision)
