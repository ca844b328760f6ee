"""Failed-attempt limits: a client guessing API keys or links is slowed to a stop.

Each worker process counts, per client address, the requests refused for a
wrong API key (401) or an invalid link (404). A client with ``limit`` failures
within ``window_s`` seconds is refused (429 with ``Retry-After``) until its
window ends; the service writes the block to the audit log. Counting is per
worker, so with N workers a client gets at most N × ``limit`` tries per window
— still far too few to guess a 128-bit link id or a 256-bit key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

FAILURE_LIMIT = 30
WINDOW_S = 60.0
MAX_CLIENTS = 100_000


@dataclass
class _Window:
    started: float
    failures: int = 0


class FailureLimiter:
    """Counts failed attempts per client in fixed windows; thread-safe."""

    def __init__(
        self,
        limit: int = FAILURE_LIMIT,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it is not blocked."""
        with self._lock:
            window = self._windows.get(client)
            if window is None or window.failures < self.limit:
                return 0.0
            return max(0.0, window.started + self.window_s - self._clock())

    def failed(self, client: str) -> int:
        """Count one failure of ``client``; returns its failures in the current window."""
        now = self._clock()
        with self._lock:
            window = self._windows.get(client)
            if window is None or now - window.started >= self.window_s:
                if len(self._windows) >= MAX_CLIENTS:
                    self._forget_old(now)
                window = self._windows[client] = _Window(started=now)
            window.failures += 1
            return window.failures

    def _forget_old(self, now: float) -> None:
        for client in [c for c, w in self._windows.items() if now - w.started >= self.window_s]:
            del self._windows[client]
        if len(self._windows) >= MAX_CLIENTS:  # a flood of addresses: start afresh
            self._windows.clear()
