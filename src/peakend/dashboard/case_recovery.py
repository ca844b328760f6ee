"""The ``case_recovery`` widget: do closed cases recover the customer?

The figures of ``peakend cases recovery`` (:func:`peakend.cases.recovery.case_recovery`:
recovered, not recovered and never failed customers, their next score, the
contrasts with 95 % intervals and the verdict, "no evidence at this sample
size" below ten failures per group) as a dashboard widget.

:class:`CaseRecoveryCache` computes them in its own thread, per set of units a
user may see (a user limited to some units gets the analysis of the answers at
those touchpoints and the cases of those units only): at start, every
``interval`` seconds, and soon after a case is changed on the dashboard
(:meth:`CaseRecoveryCache.wake`, at most once per ``min_gap`` seconds). One
read of the answers and cases serves every set of units. A request only reads
the cached result, or gets None ("being computed") and queues its units.

With ``separate_process`` (as ``peakend serve`` runs it) the computation runs in
a child process: it reads every answer into pandas and fits the analysis, which
at a million answers holds Python's interpreter lock for half a minute, and in
the service's own process every request would wait behind it.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from peakend.cases.notify import Followup
from peakend.cases.recovery import OUTCOME, QUESTION, CaseRecovery, case_recovery, read_frames
from peakend.dashboard.refresh import ThrottledRefresh
from peakend.errors import PeakendError
from peakend.models.recovery.data import GROUPS, NONE
from peakend.report.build import _json_safe as json_safe
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import SurveyStore

TITLE = "Do closed cases recover the customer?"
#: Sets of units kept besides the one of every unit (the most recently asked for).
MAX_UNIT_SETS = 16
Units = tuple[str, ...] | None
_CONTRASTS = (
    ("recovered − never failed", "recovered_vs_none"),
    ("not recovered − never failed", "unrecovered_vs_none"),
    ("recovered − not recovered", "recovered_vs_unrecovered"),
)


@dataclass(frozen=True)
class RecoveryFigures:
    """The widget's figures for one set of units, or the reason there are none."""

    computed_at: datetime
    units: Units
    found: CaseRecovery | None
    reason: str = ""

    @property
    def customers(self) -> int:
        return sum(self.found.result.groups.values()) if self.found else 0

    @property
    def verdict(self) -> str:
        return self.found.result.outcomes[0].verdict if self.found else ""

    @property
    def why(self) -> str:
        """Why there is no verdict (too few failures), or ``reason``."""
        if self.found is None:
            return self.reason
        return self.found.result.outcomes[0].reason

    def rows(self) -> list[dict[str, Any]]:
        """One row per group (customers and mean next score) and per contrast (with 95 %)."""
        if self.found is None:
            return []
        result = self.found.result
        outcome = result.outcomes[0]
        rows: list[dict[str, Any]] = [
            {
                "row": "group",
                "name": "never failed" if group == NONE else group,
                "customers": result.groups.get(group, 0),
                "value": _number(outcome.means.get(group)),
                "low": None,
                "high": None,
            }
            for group in GROUPS
        ]
        if outcome.all_failures is not None:
            for label, key in _CONTRASTS:
                effect = getattr(outcome.all_failures, key)
                rows.append(
                    {
                        "row": "contrast",
                        "name": label,
                        "customers": effect.n,
                        "value": _number(effect.value),
                        "low": _number(effect.low),
                        "high": _number(effect.high),
                    }
                )
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": "case_recovery",
            "title": TITLE,
            "question": QUESTION,
            "outcome": OUTCOME,
            "computed_at": self.computed_at.isoformat(),
            "customers": self.customers,
            "verdict": self.verdict or None,
            "reason": self.why or None,
            "sentence": self.found.sentence() if self.found else None,
            "customers_waiting": self.found.customers_waiting if self.found else 0,
            "followups_answered": self.found.followups_answered if self.found else 0,
            "rows": self.rows(),
            "result": json_safe(self.found.result.to_dict()) if self.found else None,
        }


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def compute_all(
    survey: SurveyStore, followup: Followup | None, wanted: list[Units], now: datetime
) -> dict[Units, RecoveryFigures]:
    """The figures of every set of units in ``wanted``, from one read of the database."""
    try:
        frames = read_frames(survey)
    except PeakendError as exc:
        return {u: RecoveryFigures(now, u, None, str(exc)) for u in wanted}
    built = {}
    for units in wanted:
        try:
            found = case_recovery(survey, followup, now=now, units=units, frames=frames)
        except PeakendError as exc:
            built[units] = RecoveryFigures(now, units, None, str(exc))
        else:
            built[units] = RecoveryFigures(now, units, found)
    return built


def _compute_in_child(
    url: str,
    questionnaires: Mapping[str, Questionnaire],
    followup: Followup | None,
    wanted: list[Units],
    now: datetime,
) -> dict[Units, RecoveryFigures]:
    """:func:`compute_all` in a child process, on a connection of its own."""
    from peakend.survey.database import make_engine

    survey = SurveyStore(make_engine(url), questionnaires)
    try:
        return compute_all(survey, followup, wanted, now)
    finally:
        survey.engine.dispose()


class CaseRecoveryCache(ThrottledRefresh):
    """The ``case_recovery`` figures per set of units, computed in a background thread."""

    thread_name = "peakend-case-recovery"
    failure = "the case recovery figures could not be computed; retrying"
    join_timeout = 60.0

    def __init__(
        self,
        survey: SurveyStore,
        followup: Followup | None = None,
        *,
        interval: float = 600.0,
        min_gap: float = 30.0,
        separate_process: bool = False,
    ) -> None:
        self.survey = survey
        self.followup = followup
        self.separate_process = separate_process
        self._pool: ProcessPoolExecutor | None = None
        super().__init__(interval, min_gap)
        self._figures: dict[Units, RecoveryFigures] = {}
        self._wanted: dict[Units, None] = {None: None}
        self._lock = threading.Lock()
        self.computed = threading.Event()

    def get(self, units: Units) -> RecoveryFigures | None:
        """The last figures for ``units`` (None: all); None until computed (then queued)."""
        with self._lock:
            found = self._figures.get(units)
            if found is None and units not in self._wanted:
                self._wanted[units] = None
                while len(self._wanted) > MAX_UNIT_SETS + 1:
                    oldest = next(k for k in self._wanted if k is not None)
                    del self._wanted[oldest]
                    self._figures.pop(oldest, None)
                self._wake.set()
        return found

    def refresh(self, *, only_new: bool = False) -> None:
        """Compute the figures of every set of units asked for (only the new ones
        with ``only_new``), from one read of the answers and cases."""
        with self._lock:
            wanted = [u for u in self._wanted if not (only_new and u in self._figures)]
        if not wanted:
            return
        now = datetime.now(UTC)
        built = self._compute(wanted, now)
        with self._lock:
            for units, figures in built.items():
                if units in self._wanted:
                    self._figures[units] = figures
        self.computed.set()

    def _compute(self, wanted: list[Units], now: datetime) -> dict[Units, RecoveryFigures]:
        if not self.separate_process:
            return compute_all(self.survey, self.followup, wanted, now)
        if self._pool is None:
            spawn = multiprocessing.get_context("spawn")  # no copy of the service's threads
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn)
        url = self.survey.engine.url.render_as_string(hide_password=False)
        job = self._pool.submit(
            _compute_in_child, url, dict(self.survey.questionnaires), self.followup, wanted, now
        )
        return job.result()

    # --- the background thread ---------------------------------------------------------

    def tick(self, full: bool) -> None:
        """Every set of units after a change or once per interval, otherwise only new ones."""
        self.refresh(only_new=not full)

    def stop(self) -> None:
        super().stop()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
