"""A background thread that opens cases from new answers and escalates overdue ones.

The survey store calls :meth:`AlertWorker.wake` after each committed answer
(one ``Event.set``, so the answer is never delayed); the thread then runs the
alert rules on every answer not looked at yet. It also wakes every
``interval`` seconds, which picks up answers stored by other worker processes,
and escalates overdue cases every ``escalate_every`` seconds. A failure is
logged and retried on the next wake: the answers stay in the database and the
high-water mark moves only after their cases are committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from peakend.cases.store import CaseStore

log = logging.getLogger("peakend.cases")


class AlertWorker:
    """Runs :meth:`CaseStore.evaluate_new` off the request path."""

    def __init__(
        self, cases: CaseStore, *, interval: float = 2.0, escalate_every: float = 60.0
    ) -> None:
        self.cases = cases
        self.interval = interval
        self.escalate_every = escalate_every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        """Set once the comment scorer is loaded and the first pass is done."""
        self.on_change: list[Callable[[], None]] = []
        """Called after a pass that escalated cases (the dashboard's recovery of closed
        cases: a case just opened is not due yet and changes no customer's fate)."""

    def wake(self, _response_id: int | None = None) -> None:
        """Look at new answers now (the survey store's listener)."""
        self._wake.set()

    def start(self) -> None:
        self.cases.survey.listeners.append(self.wake)
        self._thread = threading.Thread(target=self._run, name="peakend-alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.wake in self.cases.survey.listeners:
            self.cases.survey.listeners.remove(self.wake)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        if any(r.kind == "negative_ending" for r in self.cases.rules):
            try:
                self.cases.endings(["ok"])  # load the scorer before the first answer
            except Exception:
                log.exception("the comment scorer did not load")
        escalated_at = 0.0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.cases.evaluate_new()
                self.cases.send_followups()  # closed cases whose follow-up was missed
                if time.monotonic() - escalated_at >= self.escalate_every:
                    if self.cases.escalate_overdue():
                        for listener in self.on_change:
                            listener()
                    escalated_at = time.monotonic()
            except Exception:
                log.exception("alert rules failed; retrying on the next answer")
            self.ready.set()
            self._wake.wait(self.interval)
