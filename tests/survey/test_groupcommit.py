"""Group commit: concurrent work shares commits, failures stay with their caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peakend.survey.database import make_engine
from peakend.survey.groupcommit import GroupCommit


def test_concurrent_work_shares_commits_and_a_failure_stays_with_its_caller(
    tmp_path: Path,
) -> None:
    engine = make_engine(tmp_path / "g.db")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    commits = []
    sa.event.listen(engine, "commit", lambda _conn: commits.append(1))
    gate = threading.Lock()

    @contextmanager
    def transaction() -> Iterator[Connection]:
        with gate, engine.connect() as connection, connection.begin():
            yield connection

    group: GroupCommit[int] = GroupCommit(transaction)

    def insert(n: int) -> int:
        def work(connection: Connection) -> int:
            connection.exec_driver_sql(f"INSERT INTO t VALUES ({n})")
            if n == 13:
                raise ValueError("unlucky")
            return n

        return group.run(work)

    results: dict[int, object] = {}

    def call(n: int) -> None:
        try:
            results[n] = insert(n)
        except ValueError as exc:
            results[n] = exc

    with gate:  # hold the writer so that the calls queue up and share a transaction
        threads = [threading.Thread(target=call, args=(n,)) for n in range(40)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while group._queue.qsize() < 30 and time.monotonic() < deadline:
            time.sleep(0.01)  # the first calls are with the blocked writer, the rest in line
    for thread in threads:
        thread.join()
    assert isinstance(results.pop(13), ValueError)
    assert results == {n: n for n in range(40) if n != 13}
    with engine.connect() as connection:
        stored = [row[0] for row in connection.exec_driver_sql("SELECT n FROM t ORDER BY n")]
    assert stored == [n for n in range(40) if n != 13]  # the failed piece was rolled back
    assert len(commits) < 20  # 40 calls, at least 30 of them in one commit
    engine.dispose()


def test_a_failed_commit_reaches_every_caller(tmp_path: Path) -> None:
    @contextmanager
    def broken() -> Iterator[Connection]:
        engine = make_engine(tmp_path / "b.db")
        with engine.connect() as connection:
            yield connection
            raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    group: GroupCommit[int] = GroupCommit(broken)
    with pytest.raises(sa.exc.OperationalError, match="disk I/O error"):
        group.run(lambda connection: 1)
