"""The analysis widgets: a dataset's moments, memory, hidden moments, recovery, churn, focus plan.

``peakend serve --dataset SPEC`` registers datasets. :class:`AnalysisCache`
loads each one and runs the report's analyses on it (:func:`peakend.report.build_report`:
the same figures, intervals and Vega-Lite charts as ``peakend analyze``) in its
own thread: at start, every ``interval`` seconds, when an admin or analyst asks
(:meth:`AnalysisCache.request_refresh`), and for a new filter on its first request.
A request never computes: it gets the cached result or None ("being computed").

A filter selects journeys: ``period`` keeps events on those days, ``segment``
(``key:value``, a segment the spec declares) the journeys of that segment, and
units the events at those touchpoints. A user's role narrows units the same way,
so a viewer of one unit gets an analysis of that unit's touchpoints only.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from peakend.cases.store import User
from peakend.dashboard.filters import NO_UNIT, Filter, FilterError
from peakend.dashboard.layout import ANALYSIS_WIDGETS
from peakend.errors import PeakendError
from peakend.load import Dataset, load
from peakend.report.build import _json_safe as json_safe
from peakend.report.build import build_report
from peakend.report.section import Section, Skipped
from peakend.spec import read_spec

log = logging.getLogger("peakend.dashboard")
#: Filtered analyses kept per dataset besides the unfiltered one (the most recently asked for).
MAX_FILTERS = 16
Key = tuple[str, tuple[object, ...], tuple[str, ...] | None]


@dataclass(frozen=True)
class AnalysisWidget:
    """One analysis of one dataset under one filter, or the reason it has no figures."""

    name: str
    title: str
    dataset: str
    computed_at: datetime
    n_journeys: int
    n_events: int
    charts: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    paragraphs: tuple[str, ...] = ()
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "dataset": self.dataset,
            "computed_at": self.computed_at.isoformat(),
            "n_journeys": self.n_journeys,
            "n_events": self.n_events,
            "reason": self.reason or None,
            "charts": [{"id": c[0], "title": c[1]} for c in self.charts],
            "results": json_safe(self.results),
        }


def units_for(user: User, flt: Filter) -> tuple[str, ...] | None:
    """The touchpoints an analysis for ``user`` under ``flt`` may use (None: all)."""
    if user.all_units:
        return tuple(sorted(flt.units)) if flt.units else None
    mine = tuple(u for u in user.units if not flt.units or u in flt.units)
    return tuple(sorted(mine)) or (NO_UNIT,)


def filter_dataset(dataset: Dataset, flt: Filter, units: tuple[str, ...] | None) -> Dataset:
    """The events and outcomes of ``dataset`` that ``flt`` and ``units`` keep."""
    events, outcomes = dataset.events, dataset.outcomes
    segment = flt.segment_pair
    if segment is not None:
        key, value = segment
        if key not in dataset.spec.segments:
            known = ", ".join(dataset.spec.segments) or "none declared"
            name = dataset.spec.name
            raise FilterError(f"dataset {name} has no segment {key!r} (known: {known})")
        journeys = outcomes.filter(pc.equal(outcomes[key], value))["journey_id"]
        events = events.filter(pc.is_in(events["journey_id"], value_set=journeys))
    first, last = flt.bounds()
    if first is not None or last is not None:
        days = pc.cast(events["ts"], pa.date32())
        keep = pc.is_valid(days)
        if first is not None:
            keep = pc.and_(keep, pc.greater_equal(days, pa.scalar(first, pa.date32())))
        if last is not None:
            keep = pc.and_(keep, pc.less_equal(days, pa.scalar(last, pa.date32())))
        events = events.filter(keep)
    if units is not None:
        events = events.filter(pc.is_in(events["touchpoint"], value_set=pa.array(units)))
    if events.num_rows == dataset.events.num_rows:
        return dataset
    outcomes = outcomes.filter(pc.is_in(outcomes["journey_id"], value_set=events["journey_id"]))
    return dataclasses.replace(dataset, events=events, outcomes=outcomes)


def analyse(
    dataset: Dataset, name: str, flt: Filter, units: tuple[str, ...] | None
) -> dict[str, AnalysisWidget]:
    """Every analysis widget of ``dataset`` under the filter (one report build)."""
    now = datetime.now(UTC)
    try:
        part = filter_dataset(dataset, flt, units)
        if part.events.num_rows == 0:
            raise FilterError("no journeys match this filter and your units")
        report = build_report(part)
    except PeakendError as exc:
        return {
            key: AnalysisWidget(key, title, name, now, 0, 0, reason=str(exc))
            for key, title in ANALYSIS_WIDGETS.items()
        }
    parts: list[Section | Skipped] = [*report.sections, *report.skipped]
    found = {s.key: s for s in parts}
    out = {}
    for key, title in ANALYSIS_WIDGETS.items():
        section = found.get(key)
        base = AnalysisWidget(key, title, name, now, report.n_journeys, report.n_events)
        if isinstance(section, Section):
            out[key] = dataclasses.replace(
                base,
                # NaN (an estimate without an interval) is not JSON: null instead
                charts=tuple((c.id, c.title, json_safe(c.spec)) for c in section.charts),
                paragraphs=section.paragraphs,
                results=section.results,
            )
        else:
            reason = section.reason if section is not None else "not run"
            out[key] = dataclasses.replace(base, reason=reason)
    return out


class AnalysisCache:
    """The analyses of every registered dataset, per filter, computed in a background thread."""

    def __init__(self, specs: Sequence[Path], *, interval: float = 3600.0) -> None:
        self.specs: dict[str, Path] = {}
        for path in specs:
            spec = read_spec(path)  # a wrong spec stops serve at start, with the key to fix
            if spec.name in self.specs:
                raise PeakendError(f"two datasets are named {spec.name!r}; rename one in its spec")
            self.specs[spec.name] = path
        self.interval = interval
        self._results: dict[Key, dict[str, AnalysisWidget]] = {}
        self._wanted: dict[Key, Filter] = {(n, (), None): Filter() for n in self.specs}
        self._stale: set[str] = set(self.specs)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def names(self) -> list[str]:
        return list(self.specs)

    def get(self, dataset: str, name: str, user: User, flt: Filter) -> AnalysisWidget | None:
        """The cached widget, or None while it is computed (a new filter is queued)."""
        units = units_for(user, flt)
        plain = not flt.period and not flt.segment
        key: Key = (dataset, () if plain else flt.computation_key(), units)
        with self._lock:
            found = self._results.get(key)
            if found is None and key not in self._wanted:
                self._wanted[key] = Filter(flt.period, flt.segment)
                mine = [k for k in self._wanted if k[0] == dataset and k != (dataset, (), None)]
                for old in mine[:-MAX_FILTERS]:
                    del self._wanted[old]
                    self._results.pop(old, None)
                self._wake.set()
        return None if found is None else found.get(name)

    def request_refresh(self, dataset: str | None = None) -> None:
        """Recompute ``dataset`` (every dataset when None) soon, in the background."""
        with self._lock:
            self._stale.update([dataset] if dataset else self.specs)
        self._wake.set()

    def computing(self) -> list[str]:
        """Datasets waiting for a recomputation."""
        with self._lock:
            return sorted(self._stale)

    def compute(self) -> None:
        """Recompute stale datasets and compute new filters (the background thread's step)."""
        with self._lock:
            stale, self._stale = set(self._stale), set()
            pending = {
                k: f for k, f in self._wanted.items() if k[0] in stale or k not in self._results
            }
        loaded: dict[str, Dataset | PeakendError] = {}
        for key, flt in pending.items():
            name = key[0]
            if name not in loaded:
                loaded[name] = self._load(name)
            dataset = loaded[name]
            if isinstance(dataset, PeakendError):
                now = datetime.now(UTC)
                result = {
                    k: AnalysisWidget(k, t, name, now, 0, 0, reason=str(dataset))
                    for k, t in ANALYSIS_WIDGETS.items()
                }
            else:
                result = analyse(dataset, name, flt, key[2])
            with self._lock:
                if key in self._wanted:
                    self._results[key] = result

    def _load(self, name: str) -> Dataset | PeakendError:
        try:
            return load(self.specs[name])
        except PeakendError as exc:
            log.warning("dataset %s could not be loaded: %s", name, exc)
            return exc

    # --- the background thread ---------------------------------------------------------

    def start(self) -> None:
        if self.specs:
            self._thread = threading.Thread(target=self._run, name="peakend-analyses", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.compute()
            except Exception:
                log.exception("the dataset analyses could not be computed; retrying")
            if not self._wake.wait(self.interval) and not self._stop.is_set():
                self.request_refresh()
