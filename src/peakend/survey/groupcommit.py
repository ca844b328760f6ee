"""Group commit: concurrent writes share one transaction and one fsync.

With ``synchronous=FULL`` every SQLite commit waits for the disk (an fsync of the
write-ahead log), and SQLite has one writer at a time, so one commit per
submission caps throughput at 1/fsync-time — on a busy disk a few hundred per
second. Databases such as PostgreSQL solve this with group commit; this module
does the same in-process: callers hand their work to one writer thread, which
runs everything queued so far in one transaction (each piece inside its own
savepoint, so one failing piece does not undo the others), commits once, and
only then wakes the callers. A caller is therefore still answered only after
its write is on disk.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection

T = TypeVar("T")
MAX_BATCH = 256


@dataclass
class _Job(Generic[T]):
    work: Callable[[Connection], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Run pieces of work in shared transactions on one writer thread.

    Parameters
    ----------
    transaction
        Opens a write transaction and yields its connection (committed on exit).
    max_batch
        At most this many pieces share one transaction.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Connection]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._transaction = transaction
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job[T]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a shared transaction; return its result after the commit.

        Raises whatever ``work`` raised (its savepoint is rolled back), or the
        commit's error (then nothing of the batch was stored).
        """
        self._ensure_thread()
        job: _Job[T] = _Job(work)
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="peakend-group-commit", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            jobs = [self._queue.get()]
            while len(jobs) < self._max_batch:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(jobs)

    def _commit(self, jobs: list[_Job[T]]) -> None:
        try:
            with self._transaction() as connection:
                for job in jobs:
                    try:
                        with connection.begin_nested():
                            job.result = job.work(connection)
                    except Exception as exc:  # handed to the caller, who raises it
                        job.error = exc
        except Exception as exc:  # the commit failed: no job of this batch is stored
            for job in jobs:
                job.result, job.error = None, job.error or exc
        finally:
            for job in jobs:
                job.done.set()
