"""PostgreSQL submissions in two network round trips (psycopg pipeline mode).

The general write path (SQLAlchemy, one statement at a time) waited for the
server about seven times per submission (6.7 on average in libpq's protocol
trace): a liveness ping, ``BEGIN``, the row lock, the read of the answer and
draft, the insert, the use count and ``COMMIT``, each a round trip that costs a
wake-up of the service and of the server process. On two cores shared by the
service and PostgreSQL those waits, not the SQL, capped the throughput. Here the
same statements are sent in two batches with psycopg's pipeline mode, one wait
each. ``BEGIN`` and ``COMMIT`` are sent as statements inside the batches (the
connection is in psycopg's autocommit mode while it does this): psycopg's own
transaction handling would add a wait for each.

1. ``BEGIN``; ``UPDATE invitations SET uses = uses + 1`` (takes the row lock
   and counts the use); the read of the invitation with its answer and draft;
2. after the answers are checked in Python: the insert, the deletion of the
   draft when there is one, and ``COMMIT``.

The server still runs the statements one after the other, so the guarantees of
the general path hold: the read is a new statement after the lock (under READ
COMMITTED it sees a submission or draft that committed while this one waited),
the commit is a normal durable commit (``synchronous_commit`` as configured),
and the receipt is returned only after it. A refused submission is rolled back
(its use count with it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from sqlalchemy.engine import Engine

RESPONSE_COLUMNS = (
    "invitation_id",
    "submitted_at",
    "lang",
    "overall",
    "success",
    "effort",
    "emotion",
    "feelings",
    "comment",
    "answers",
    "digest",
)
_LOCK = "UPDATE invitations SET uses = uses + 1 WHERE id = %(invitation_id)s"
_INSERT = (
    f"INSERT INTO responses ({', '.join(RESPONSE_COLUMNS)}) "
    f"VALUES ({', '.join(f'%({c})s' for c in RESPONSE_COLUMNS)}) RETURNING id"
)
_DELETE_DRAFT = "DELETE FROM drafts WHERE invitation_id = %(invitation_id)s"


@contextmanager
def pipelined(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    """A pooled psycopg connection for one submission; errors as SQLAlchemy's.

    A unique-key violation becomes :class:`sqlalchemy.exc.IntegrityError` (the
    caller retries on the general path), a lost connection
    :class:`sqlalchemy.exc.OperationalError` (the service answers 503) and the
    connection is dropped from the pool. Any open transaction is rolled back
    before the connection goes back to the pool.
    """
    raw = engine.raw_connection()
    driver: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
    try:
        driver.autocommit = True  # BEGIN and COMMIT are statements of the batches
        yield driver
    except psycopg.IntegrityError as exc:
        _rollback(driver)
        raise sa.exc.IntegrityError("submit", None, exc) from exc
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raw.invalidate(exc)
        raise sa.exc.OperationalError("submit", None, exc) from exc
    except BaseException:
        _rollback(driver)
        raise
    finally:
        if not driver.closed and not _end_autocommit(driver):
            raw.invalidate()  # never hand an autocommit connection to other code
        raw.close()


def lock_and_read(connection: psycopg.Connection[Any], read: str, invitation_id: str) -> Any:
    """Open a transaction, lock the invitation, count a use and read its row.

    Returns the row of ``read`` (invitation, ``response_id``, ``submitted_at``,
    ``digest``, ``draft``) or None for an unknown invitation; the transaction
    stays open.
    """
    key = {"invitation_id": invitation_id}
    with connection.pipeline():
        connection.execute("BEGIN")
        connection.execute(_LOCK, key, prepare=True)
        cursor = connection.cursor(row_factory=namedtuple_row)
        cursor.execute(read, key, prepare=True)
    return cursor.fetchone()


def insert_and_commit(
    connection: psycopg.Connection[Any], response: Mapping[str, Any], *, delete_draft: bool
) -> int:
    """Insert the response (deleting the draft if asked), commit; the response id."""
    row = {column: response.get(column) for column in RESPONSE_COLUMNS}
    with connection.pipeline():
        cursor = connection.execute(_INSERT, row, prepare=True)
        if delete_draft:
            connection.execute(_DELETE_DRAFT, {"invitation_id": row["invitation_id"]})
        # If a statement above failed, the server skips the COMMIT (the pipeline
        # is aborted up to its sync) and the error is raised on leaving.
        connection.execute("COMMIT")
    found = cursor.fetchone()
    assert found is not None
    return int(found[0])


def rollback(connection: psycopg.Connection[Any]) -> None:
    """End the open transaction without storing anything."""
    connection.rollback()


def _rollback(connection: psycopg.Connection[Any]) -> None:
    try:
        connection.rollback()
    except psycopg.Error:
        pass  # a broken connection is closed by the pool; nothing was committed


def _end_autocommit(connection: psycopg.Connection[Any]) -> bool:
    """Make the connection what SQLAlchemy expects (no transaction, no autocommit).

    False when that failed: the caller drops it.
    """
    try:
        _rollback(connection)  # nothing when idle
        connection.autocommit = False
    except psycopg.Error:
        return False
    return not connection.autocommit
