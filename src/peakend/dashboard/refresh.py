"""A background thread that keeps computed figures fresh without recomputing on every event.

The dashboard's caches (survey widgets, case recovery) share the process with the
requests they serve, so a stream of new answers or case changes must not keep them
recomputing: a change marks the figures dirty and wakes the thread, which recomputes
at most once per ``min_gap`` seconds after a change and at least once per
``interval`` seconds, and between full refreshes does the cheap work the subclass
names (figures for a filter seen for the first time).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod

log = logging.getLogger("peakend.dashboard")


class ThrottledRefresh(ABC):
    """Start, wake and stop a refresh thread; subclasses say what one pass does."""

    #: The thread's name (seen in ``py-spy`` and thread dumps).
    thread_name = "peakend-refresh"
    #: What the log says when a pass fails (the thread retries on its next pass).
    failure = "the figures could not be computed; retrying"
    #: Seconds :meth:`stop` waits for a pass in progress.
    join_timeout = 30.0

    def __init__(self, interval: float, min_gap: float) -> None:
        self.interval = interval
        self.min_gap = min(min_gap, interval)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._dirty = True
        self._thread: threading.Thread | None = None

    @abstractmethod
    def tick(self, full: bool) -> None:
        """One pass: a full refresh when ``full``, otherwise only what is new."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def wake(self, _event: object = None) -> None:
        """Something changed: recompute soon (at most once per ``min_gap`` seconds)."""
        self._dirty = True
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout)

    def _run(self) -> None:
        last = -math.inf
        while not self._stop.is_set():
            self._wake.clear()
            since = time.monotonic() - last
            try:
                full = since >= self.interval or (self._dirty and since >= self.min_gap)
                if full:
                    self._dirty = False
                    last = time.monotonic()
                self.tick(full)
            except Exception:
                log.exception(self.failure)
            since = time.monotonic() - last
            wait = self.interval - since
            if self._dirty:
                wait = min(wait, self.min_gap - since)
            self._wake.wait(max(wait, 0.05))
