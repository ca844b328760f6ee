"""``churn_drivers``: which accumulated experiences make customers leave, and how many could stay.

From an event history: a Cox model with time-varying covariates (negative moments
so far, a negative last ending, unsolicited contacts, recovered and unrecovered
failures, baseline segment), hazard ratios with 95 % intervals, the proportional-
hazards check, concordance on customers held out of the fit, Kaplan-Meier curves
per segment and per group of experience, and the avoidable churn per touchpoint.
From a per-customer snapshot: the same with time in service as the survival time
and the snapshot's counts as baseline covariates (no history, so no sequence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from peakend.engine.order import epoch_seconds
from peakend.errors import ConfigError, DataError, SourceError
from peakend.load import Dataset, load
from peakend.models.churn.avoidable import Avoidable, avoidable
from peakend.models.churn.data import (
    HARM,
    Rows,
    customer_table,
    dummy_columns,
    fetch_rows,
    history_rows,
    independent_columns,
)
from peakend.models.churn.survival import Curve, by_group, negative_bands
from peakend.models.snapshot import read_snapshot
from peakend.spec import ChurnSpec, DatasetSpec, SourceSpec, read_spec
from peakend.stats.cox import CoxFit, concordance, fit_cox

HOLDOUT = 5
"""About one customer in this many (a seeded draw) is held out of a second fit to
measure concordance."""


@dataclass(frozen=True)
class HazardRatio:
    """A covariate's hazard ratio with its 95 % interval, p-value and PH check."""

    covariate: str
    hazard_ratio: float
    low: float
    high: float
    log_hr: float
    se: float
    p: float
    ph_p: float

    def to_dict(self) -> dict[str, float | str]:
        """JSON-ready form."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class ChurnResult:
    """What :func:`churn_drivers` found."""

    dataset_name: str
    kind: str
    time_unit: str
    customers: int
    churners: int
    rows: int
    drivers: list[HazardRatio]
    concordance: float | None
    concordance_customers: int
    curves_by_segment: dict[str, list[Curve]]
    curves_by_experience: list[Curve]
    landmark: float | None
    avoidable: Avoidable | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset": self.dataset_name,
            "kind": self.kind,
            "time_unit": self.time_unit,
            "customers": self.customers,
            "churners": self.churners,
            "rows": self.rows,
            "drivers": [d.to_dict() for d in self.drivers],
            "concordance_out_of_sample": self.concordance,
            "concordance_customers": self.concordance_customers,
            "curves_by_segment": {
                k: [c.to_dict() for c in v] for k, v in self.curves_by_segment.items()
            },
            "curves_by_experience": [c.to_dict() for c in self.curves_by_experience],
            "landmark": self.landmark,
            "avoidable": self.avoidable.to_dict() if self.avoidable else None,
            "notes": self.notes,
        }


def churn_drivers(data: Dataset | DatasetSpec | str | Path) -> ChurnResult:
    """Survival analysis of churn as the spec's ``[churn]`` section declares it.

    Parameters
    ----------
    data:
        A loaded :class:`~peakend.load.Dataset` or a spec (path); a ``snapshot =
        true`` spec is read as one row per customer.

    Raises
    ------
    ConfigError
        No ``[churn]`` section, or it names columns the data do not have.
    DataError
        No churner in the data.

    Examples
    --------
    >>> from peakend.datasets import demo_spec_path
    >>> result = churn_drivers(demo_spec_path())
    >>> result.kind
    'event history'
    """
    if isinstance(data, str | Path):
        data = read_spec(data)
    if isinstance(data, DatasetSpec) and data.snapshot:
        return _snapshot(data)
    if isinstance(data, DatasetSpec):
        data = load(data)
    from peakend.engine import dataset_events, outcomes_table

    con, events = dataset_events(data)
    table = _outcome_table(data)
    touchpoints = data.touchpoints["touchpoint"].to_pylist()
    return from_events(events, outcomes_table(con, table), data.spec, touchpoints)


def _churn_spec(spec: DatasetSpec) -> ChurnSpec:
    if spec.churn is None:
        raise ConfigError(
            f"{spec.spec_path or spec.name}: add a [churn] section, e.g. churned = "
            '"churned" and time = "churn_days" (docs/churn.md)'
        )
    return spec.churn


def _outcome_table(data: Dataset) -> pa.Table:
    """Per-journey outcomes the churn analysis reads, the churn time read from the source if needed.

    Only the journey id, the churn flag and time and the baseline covariates are
    kept, as Arrow: on ten million events the whole table as pandas held 0.4 GB
    through the step's peak. The columns are checked against the whole table first.
    """
    cs = _churn_spec(data.spec)
    table = data.outcomes
    wanted = {"journey_id", cs.churned, cs.time, *cs.covariates}
    narrow = table.select([c for c in table.column_names if c in wanted])
    columns = list(table.column_names)
    if cs.time and cs.time not in columns:
        source = data.spec.outcome_source
        if source is None:
            raise ConfigError(
                f"[churn] time = {cs.time!r} is neither a declared outcome nor an outcome "
                "source column; declare it under [outcomes] or [outcome_source]"
            )
        key = data.spec.outcome_journey_col or "journey_id"
        raw = _source_columns(source, [key, cs.time])
        if cs.time not in raw.column_names:
            raise ConfigError(f"[churn] time column {cs.time!r} is not in {source.label}")
        ids = pc.cast(pc.cast(raw[key], pa.string()), table.schema.field("journey_id").type)
        extra = pa.table({"journey_id": ids, cs.time: raw[cs.time]})
        narrow = narrow.join(extra, "journey_id", join_type="left outer")
        columns.append(cs.time)
    _check_columns(cs, columns)
    return narrow


def _check_columns(cs: ChurnSpec, columns: Sequence[str]) -> None:
    """Raise when the ``[churn]`` section names outcome columns that are not there."""
    missing = [c for c in (*cs.covariates, cs.churned, cs.time) if c and c not in columns]
    if missing and cs.inactivity_days is None:
        raise ConfigError(
            f"[churn] names {', '.join(missing)}, which the outcomes do not have; "
            f"they have: {', '.join(columns)}"
        )


def _source_columns(source: SourceSpec, columns: list[str]) -> pa.Table:
    """The ``columns`` of ``source`` that it has (a Parquet file reads only those).

    The outcome source is read a second time for a churn time that is not a declared
    outcome: on a million journeys, all of its columns took seconds.
    """
    if source.format == "parquet" and source.path is not None and source.path.is_file():
        import pyarrow.parquet as pq

        try:
            present = set(pq.read_schema(source.path).names)
            return pq.read_table(source.path, columns=[c for c in columns if c in present])
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for corrupt files
            raise SourceError(f"{source.label} is not a readable Parquet file: {exc}") from exc
    from peakend.io import read_source

    raw, _ = read_source(source)
    kept = raw[[c for c in columns if c in raw.columns]]
    return pa.Table.from_pandas(kept, preserve_index=False)


def from_events(
    events: ibis.Table,
    outcomes: ibis.Table,
    spec: DatasetSpec,
    touchpoints: Sequence[str] | None = None,
) -> ChurnResult:
    """The analysis from Ibis tables of events and per-journey outcomes (one engine query each).

    ``outcomes`` has ``journey_id``, the churn flag and time columns the spec's
    ``[churn]`` names and its baseline covariates. ``touchpoints`` lists every
    touchpoint of the events (a dataset's catalogue); when not given, a query
    finds them. Entry point for large logs read in place.
    """
    cs = _churn_spec(spec)
    if touchpoints is None:
        found = events.select("touchpoint").distinct().to_pyarrow()
        touchpoints = sorted(str(t) for t in found["touchpoint"].to_pylist() if t is not None)
    times = _customer_times(events, outcomes, cs)
    contacts = list(cs.contact_touchpoints or _unsolicited(spec))
    numbered, ids, per_customer = customer_table(times)
    expr = history_rows(
        events, numbered.select("customer_id", "_code", "churned", "time", "_origin"), cs,
        spec.recovery, contacts, touchpoints,
    )  # fmt: skip
    baseline = per_customer[list(cs.covariates)] if cs.covariates else None
    rows = fetch_rows(expr, ids, baseline, per_customer, touchpoints)
    if not rows.event.any():
        raise DataError("no customer churned in these data; a churn analysis needs churners")
    harm = [h for h in HARM if h in rows.names]
    fit, c_index, n_test = _fit_with_holdout(rows)
    notes = []
    followed, final_t, final_e = _final(rows)
    segments = {}
    if baseline is not None:
        for col in cs.covariates:
            labels = baseline[col].astype(str).to_numpy().astype(np.str_)
            segments[col] = by_group(labels[followed], final_t[followed], final_e[followed])
    landmark = cs.landmark
    at = (rows.start < landmark) & (rows.stop >= landmark)
    lm_customers = rows.customer[at]
    experience = by_group(
        negative_bands(rows.x[at, 0]),
        final_t[lm_customers] - landmark,
        final_e[lm_customers],
    )
    if not at.any():
        notes.append(f"no customer is still followed at the landmark ({landmark:g} days)")
    ev_rows = np.flatnonzero(rows.event)
    avoid = None
    if harm:
        causes = _event_causes(rows)
        avoid = avoidable(fit, harm, rows.x[ev_rows], causes, int(rows.customers.size))
    return ChurnResult(
        dataset_name=spec.name,
        kind="event history",
        time_unit="days",
        customers=int(rows.customers.size),
        churners=int(rows.event.sum()),
        rows=int(rows.start.size),
        drivers=_ratios(fit),
        concordance=c_index,
        concordance_customers=n_test,
        curves_by_segment=segments,
        curves_by_experience=experience,
        landmark=landmark,
        avoidable=avoid,
        notes=notes,
    )


def _unsolicited(spec: DatasetSpec) -> list[str]:
    """Default contacts: customer-initiated touchpoints without a stage in the catalogue."""
    return [t.name for t in spec.touchpoints if t.stage is None and t.initiated_by == "customer"]


def _customer_times(events: ibis.Table, outcomes: ibis.Table, cs: ChurnSpec) -> ibis.Table:
    """Per customer: churned, time (days from the origin) and baseline covariates."""
    owner = events.group_by("journey_id").aggregate(
        customer_id=events.customer_id.min(), _first=events.ts.min(), _last=events.ts.max()
    )
    joined = owner.join(outcomes, "journey_id", how="left")
    covs = {c: joined[c].min() for c in cs.covariates}
    _check_columns(cs, outcomes.columns)
    if cs.inactivity_days is not None:
        span = joined._first.epoch_seconds().min().over(ibis.window(group_by=joined.customer_id))
        per = (
            joined.mutate(_o=span)
            .group_by("customer_id")
            .aggregate(
                _start=joined._first.epoch_seconds().min(),
                _end=joined._last.epoch_seconds().max(),
                **covs,
            )
        )
        data_end = events.ts.epoch_seconds().max()
        gap = (data_end - per._end) / 86_400.0
        churned = (gap > cs.inactivity_days).cast("int64")
        first_or_last = per._start if cs.origin == "first_event" else per._end
        time = ibis.ifelse(
            churned == 1,
            (per._end - first_or_last) / 86_400.0 + cs.inactivity_days,
            (data_end - first_or_last) / 86_400.0,
        )
        return per.mutate(
            churned=churned, time=time.cast("float64"), _origin=first_or_last.cast("float64")
        )
    assert cs.churned is not None and cs.time is not None
    # the origin runs over all of a customer's events, journeys without an outcome too;
    # the rest over the journeys with a churn flag and time. One aggregation with
    # filtered aggregates: a window over the customers first partitioned a million rows
    known = joined[cs.churned].notnull() & joined[cs.time].notnull()
    origin = (
        epoch_seconds(joined._first).min()
        if cs.origin == "first_event"
        else epoch_seconds(joined._last).max()
    )
    per = joined.group_by("customer_id").aggregate(
        churned=joined[cs.churned].max(where=known).cast("int64"),
        time=joined[cs.time].max(where=known).cast("float64"),
        _origin=origin.cast("float64"),
        **{c: joined[c].min(where=known) for c in cs.covariates},
        _known=joined.count(where=known),
    )
    return per.filter(per._known > 0).drop("_known")


def _final(rows: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer (code order): followed at all, time of churn or censoring, churned."""
    code = rows.customer[rows.last]
    followed = np.zeros(rows.customers.size, dtype=bool)
    final_t = np.zeros(rows.customers.size)
    final_e = np.zeros(rows.customers.size, dtype=bool)
    followed[code] = True
    final_t[code] = rows.stop[rows.last]
    final_e[code] = rows.event[rows.last]
    return followed, final_t, final_e


def _fit_with_holdout(rows: Rows) -> tuple[CoxFit, float | None, int]:
    """Fit on all customers; concordance from a fit without every fifth customer."""
    fit = fit_cox(rows.start, rows.stop, rows.event, rows.x, rows.names)
    held_out = np.random.default_rng(0).random(rows.customers.size) < 1.0 / HOLDOUT
    test = held_out[rows.customer]
    c_index: float | None = None
    n_test = int(np.unique(rows.customer[test]).size)
    if rows.event[~test].sum() >= 10 and rows.event[test].sum() >= 10:
        train = fit_cox(
            rows.start[~test],
            rows.stop[~test],
            rows.event[~test],
            rows.x[~test],
            rows.names,
            init=fit.coef,
        )
        risk = rows.x[test] @ train.coef
        c_index = concordance(
            rows.start[test], rows.stop[test], rows.event[test], rows.customer[test], risk
        )
    return fit, c_index, n_test


def _ratios(fit: CoxFit) -> list[HazardRatio]:
    low, high = fit.interval()
    z = fit.coef / fit.se
    p = 2.0 * stats.norm.sf(np.abs(z))
    return [
        HazardRatio(
            covariate=name,
            hazard_ratio=float(np.exp(fit.coef[j])),
            low=float(np.exp(low[j])),
            high=float(np.exp(high[j])),
            log_hr=float(fit.coef[j]),
            se=float(fit.se[j]),
            p=float(p[j]),
            ph_p=float(fit.ph_p[j]),
        )
        for j, name in enumerate(fit.names)
    ]


def _event_causes(rows: Rows) -> dict[str, np.ndarray]:
    """Per cause, each churner's amounts of the harm covariates it accounts for at churn.

    The churners' negative moments per touchpoint come with the history rows
    (:func:`~peakend.models.churn.data.negatives_at_churn`).
    """
    ev_rows = np.flatnonzero(rows.event)
    churners = rows.customer[ev_rows]
    position = np.full(rows.customers.size, -1, dtype=np.int64)
    position[churners] = np.arange(churners.size)
    table = rows.churner_negatives
    assert table is not None  # history rows always carry them
    pos = position[table["_code"].to_numpy().astype(np.int64)]
    keep = pos >= 0
    pos = pos[keep]
    touchpoint = np.asarray(table["touchpoint"].to_numpy(zero_copy_only=False))[keep]
    negatives = table["negatives"].to_numpy().astype(float)[keep]
    last = table["last"].to_numpy().astype(float)[keep]
    end_flag = rows.x[ev_rows, rows.names.index("negative_end")]
    harm = [h for h in HARM if h in rows.names]
    causes: dict[str, np.ndarray] = {}
    for tp in sorted(set(touchpoint.tolist())):
        here = touchpoint == tp
        amount = np.zeros((churners.size, len(harm)))
        amount[pos[here], harm.index("negative_moments")] = negatives[here]
        amount[pos[here], harm.index("negative_end")] = last[here] * end_flag[pos[here]]
        if amount.any():
            causes[str(tp)] = amount
    if "unrecovered_failures" in harm:
        amount = np.zeros((churners.size, len(harm)))
        j = harm.index("unrecovered_failures")
        amount[:, j] = rows.x[ev_rows, rows.names.index("unrecovered_failures")]
        causes["unrecovered failures"] = amount
    return causes


def _snapshot(spec: DatasetSpec) -> ChurnResult:
    """Time in service as survival time, baseline covariates, no history."""
    cs = _churn_spec(spec)
    raw, id_col = read_snapshot(spec)
    if cs.churned is None or cs.time is None:
        raise ConfigError("a snapshot [churn] needs churned and time columns")
    for col in (cs.churned, cs.time, *cs.covariates):
        if col not in raw.columns:
            raise ConfigError(
                f"{spec.spec_path or spec.name} [churn]: column {col!r} is not in "
                f"{spec.source.label}"
            )
    churned = raw[cs.churned]
    flag = (
        churned.astype(str).str.strip().str.lower().isin({v.lower() for v in cs.positive})
        if cs.positive
        else pd.to_numeric(churned, errors="coerce") > 0
    )
    time = pd.to_numeric(raw[cs.time], errors="coerce")
    covs = raw[list(cs.covariates)]
    keep = time.notna() & (time > 0) & covs.notna().all(axis=1)
    notes = []
    dropped = int((~keep).sum())
    if dropped:
        notes.append(
            f"{dropped} customer(s) without a positive time or with a missing covariate left out"
        )
    x, names = dummy_columns(covs.loc[keep].reset_index(drop=True))
    x, names, dropped_cols = independent_columns(x, names)
    if dropped_cols:
        notes.append(
            f"left out {', '.join(dropped_cols)}: determined by the other covariates "
            "(e.g. a 'no internet service' level that repeats InternetService)"
        )
    n = int(keep.sum())
    rows = Rows(
        customer=np.arange(n, dtype=np.int64),
        start=np.zeros(n),
        stop=time.loc[keep].to_numpy(dtype=float),
        event=flag.loc[keep].to_numpy(dtype=bool),
        x=x,
        names=tuple(names),
        customers=raw.loc[keep, id_col].astype(str).to_numpy().astype(np.str_),
        last=np.ones(n, dtype=bool),
    )
    fit, c_index, n_test = _fit_with_holdout(rows)
    segments = {}
    for col in spec.segments:
        if col in raw.columns:
            labels = raw.loc[keep, col].astype(str).to_numpy().astype(np.str_)
            segments[col] = by_group(labels, rows.stop, rows.event)
    harm = [h for h in cs.negative_covariates if h in names]
    experience: list[Curve] = []
    if harm:
        total = covs.loc[keep, harm].apply(pd.to_numeric, errors="coerce").sum(axis=1)
        bands = np.where(total.to_numpy() > 0, "some negative", "no negative")
        experience = by_group(bands.astype(str), rows.stop, rows.event)
    avoid = None
    if harm:
        ev = np.flatnonzero(rows.event)
        causes = {}
        for j, h in enumerate(harm):
            amount = np.zeros((ev.size, len(harm)))
            amount[:, j] = rows.x[ev, names.index(h)]
            causes[h] = amount
        avoid = avoidable(fit, harm, rows.x[ev], causes, n)
    notes.append(
        "a per-customer snapshot: time in service is the survival time and the covariates "
        "are measured once, so the model shows association with accumulated experience, "
        "not its sequence"
    )
    return ChurnResult(
        dataset_name=spec.name,
        kind="snapshot",
        time_unit=cs.time_unit,
        customers=n,
        churners=int(rows.event.sum()),
        rows=n,
        drivers=_ratios(fit),
        concordance=c_index,
        concordance_customers=n_test,
        curves_by_segment=segments,
        curves_by_experience=experience,
        landmark=None,
        avoidable=avoid,
        notes=notes,
    )
