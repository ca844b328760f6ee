"""``service_recovery``: does a well-handled failure win the customer back?

For every declared outcome: the recovered − never failed and recovered − not
recovered differences with 95 % intervals (adjusted, clustered by customer),
separately for first and repeated failures, a verdict ("paradox holds", "recovery
restores part of the loss", "no evidence at this sample size"), and whether a
faster recovery recovers more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from peakend.errors import ConfigError
from peakend.load import Dataset
from peakend.models.columns import as_text
from peakend.models.recovery.data import (
    GROUPS,
    NONE,
    RECOVERED,
    classify,
    journey_failures,
    severity_levels,
)
from peakend.models.recovery.effects import NO_EVIDENCE, Contrasts, contrasts, design, verdict
from peakend.models.recovery.inputs import RecoveryInputs, recovery_inputs
from peakend.spec import DatasetSpec
from peakend.stats.att import Effect, effect

MIN_GROUP = 10
"""Fewer failed units than this in a group: the contrasts are not computed."""


@dataclass(frozen=True)
class SeverityContrasts:
    """The contrasts among failures of one severity level (against all never-failed units)."""

    level: str
    recovered: int
    not_recovered: int
    contrasts: Contrasts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "level": self.level,
            "recovered": self.recovered,
            "not_recovered": self.not_recovered,
            **self.contrasts.to_dict(),
        }


@dataclass(frozen=True)
class OutcomeRecovery:
    """The recovery contrasts and verdict on one outcome."""

    outcome: str
    lower_is_better: bool
    means: dict[str, float]
    all_failures: Contrasts | None
    first_failures: Contrasts | None
    repeated_failures: Contrasts | None
    verdict: str
    reason: str
    by_severity: list[SeverityContrasts] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "outcome": self.outcome,
            "lower_is_better": self.lower_is_better,
            "means": self.means,
            "all_failures": self.all_failures.to_dict() if self.all_failures else None,
            "first_failures": self.first_failures.to_dict() if self.first_failures else None,
            "repeated_failures": (
                self.repeated_failures.to_dict() if self.repeated_failures else None
            ),
            "verdict": self.verdict,
            "reason": self.reason,
            "by_severity": [b.to_dict() for b in self.by_severity],
        }


@dataclass(frozen=True)
class SpeedEffect:
    """Does a faster recovery recover more? Outcome change per doubling of the delay."""

    outcome: str
    per_doubling: Effect
    quartiles: list[dict[str, float]]
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "outcome": self.outcome,
            "per_doubling": self.per_doubling.to_dict(),
            "quartiles": self.quartiles,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class RecoveryResult:
    """What :func:`service_recovery` found."""

    dataset_name: str
    unit: str
    clustered_by: str
    confounders: tuple[str, ...]
    groups: dict[str, int]
    repeated: int
    outcomes: list[OutcomeRecovery]
    speed: SpeedEffect | None
    causes: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset": self.dataset_name,
            "unit": self.unit,
            "clustered_by": self.clustered_by,
            "confounders": list(self.confounders),
            "groups": self.groups,
            "repeated_failures": self.repeated,
            "outcomes": [o.to_dict() for o in self.outcomes],
            "speed": self.speed.to_dict() if self.speed else None,
            "causes": self.causes,
            "notes": self.notes,
        }


def service_recovery(
    data: Dataset | DatasetSpec | str | Path, *, outcomes: list[str] | None = None
) -> RecoveryResult:
    """Compare customers whose failure was recovered, not recovered, or who had none.

    Parameters
    ----------
    data:
        A loaded :class:`~peakend.load.Dataset`, or a spec (path) whose ``[recovery]``
        section declares failure and recovery; a ``snapshot = true`` spec is read as
        one row per customer.
    outcomes:
        Outcomes to compare (default: ``[recovery] outcomes``, else every declared one).

    Raises
    ------
    ConfigError
        The spec has no ``[recovery]`` section or names unknown outcomes or columns.

    Examples
    --------
    >>> from peakend.datasets import demo_spec_path
    >>> result = service_recovery(demo_spec_path())
    >>> sorted(result.groups)
    ['no failure', 'not recovered', 'recovered']
    """
    inputs = recovery_inputs(data)
    return analyse(inputs, outcomes)


def from_events(
    events: Any, outcome_frame: pd.DataFrame, spec: DatasetSpec, outcomes: list[str] | None = None
) -> RecoveryResult:
    """The analysis from an Ibis events table (one engine query) and per-journey outcomes.

    ``outcome_frame`` has ``journey_id``, the outcome columns (numbers) and the
    confounder attributes. This is the entry point for very large event logs read
    in place (e.g. Parquet on DuckDB).
    """
    rs = _recovery_spec(spec)
    per_journey = journey_failures(events, rs).to_pyarrow().to_pandas()
    table = classify(per_journey, rs)
    for i, name in enumerate(rs.adjust_presence):
        table = table.rename(columns={f"_present_{i}": f"present:{name}"})
    table = table.merge(outcome_frame, on="journey_id", how="left")
    names = [o.name for o in spec.outcomes if o.name in outcome_frame.columns]
    confounders = [*rs.confounders, *(f"present:{n}" for n in rs.adjust_presence)]
    return analyse(RecoveryInputs(spec, table, names, confounders, "journey"), outcomes)


def _recovery_spec(spec: DatasetSpec) -> Any:
    if spec.recovery is None:
        raise ConfigError(
            f"{spec.spec_path or spec.name}: add a [recovery] section that declares the "
            'failure, e.g. failure_touchpoints = ["complaint"] (docs/recovery.md)'
        )
    return spec.recovery


def analyse(inputs: RecoveryInputs, outcomes: list[str] | None) -> RecoveryResult:
    """Contrasts, verdicts and the speed effect from the per-unit table."""
    spec, table = inputs.spec, inputs.table
    rs = _recovery_spec(spec)
    chosen = list(outcomes or rs.outcomes or inputs.outcome_names)
    unknown = [o for o in chosen if o not in inputs.outcome_names]
    if unknown:
        raise ConfigError(
            f"unknown outcome(s) {', '.join(unknown)}; declared: "
            f"{', '.join(inputs.outcome_names) or 'none'}"
        )
    missing = [c for c in inputs.confounders if c not in table.columns]
    if missing:
        raise ConfigError(
            f"[recovery] confounders {', '.join(missing)} are not attributes or columns of "
            "the data; list them under attributes = [...] or fix the names"
        )
    group = table["group"].to_numpy().astype(str)
    counts = {g: int(np.count_nonzero(group == g)) for g in GROUPS}
    cluster = pd.factorize(as_text(table["customer_id"]))[0].astype(np.int64)
    # factorize numbers the customers 0..k-1: k is the largest code + 1, without sorting
    customers = int(cluster.max()) + 1 if cluster.size else 0
    clustered = "customer" if customers < len(table) else "none (one unit per customer)"
    notes: list[str] = []
    if rs.severity == "failure_score" and "failure_score" not in table.columns:
        raise ConfigError(
            '[recovery] severity = "failure_score" needs an event log; a snapshot names '
            "its severity column"
        )
    severity = severity_levels(table, rs)
    designs: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    results = [
        _one_outcome(table, name, rs, inputs.confounders, cluster, notes, severity, designs)
        for name in chosen
    ]
    speed = _speed(table, chosen[0], inputs.confounders, cluster) if chosen else None
    return RecoveryResult(
        dataset_name=spec.name,
        unit=inputs.unit,
        clustered_by=clustered,
        confounders=tuple(inputs.confounders),
        groups=counts,
        repeated=int(table["repeated"].sum()),
        outcomes=results,
        speed=speed,
        causes=_causes(table),
        notes=notes,
    )


def _lower_is_better(name: str, rs: Any) -> bool:
    return name in rs.lower_is_better or (not rs.lower_is_better and "churn" in name.lower())


def _one_outcome(
    table: pd.DataFrame,
    name: str,
    rs: Any,
    confounders: list[str],
    cluster: np.ndarray,
    notes: list[str],
    severity: np.ndarray | None = None,
    designs: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> OutcomeRecovery:
    """The recovery contrasts and verdict of outcome ``name``.

    ``designs`` keeps the confounder design and the groups (as text) of each set of
    rows already built: outcomes known for the same units share them (building the
    design reads every row's confounders as text, seconds on a million journeys).
    """
    keep = table[[name, *confounders]].notna().all(axis=1).to_numpy()
    if not keep.all():
        notes.append(f"{name}: {int((~keep).sum()):,} unit(s) without the outcome or a confounder")
    sub = _rows(table, keep, [name, "group", "repeated", *confounders])
    y = sub[name].to_numpy(dtype=float)
    key = np.packbits(keep).tobytes()
    built = designs.get(key) if designs is not None else None
    if built is None:
        built = (*design(sub, confounders), sub["group"].to_numpy().astype(str))
        if designs is not None:
            designs[key] = built
    x, cell, group = built
    units = cluster[keep]
    means = {g: float(y[group == g].mean()) if (group == g).any() else float("nan") for g in GROUPS}
    parts: dict[str, Contrasts | None] = {}
    repeated = sub["repeated"].to_numpy(dtype=bool)
    for label, mask in (
        ("all", np.ones(len(sub), dtype=bool)),
        ("first", ~repeated),
        ("repeated", repeated | (group == NONE)),
    ):
        failed = mask & (group != NONE)
        n_rec = int(np.count_nonzero(failed & (group == RECOVERED)))
        n_unrec = int(np.count_nonzero(failed)) - n_rec
        if max(n_rec, n_unrec) < MIN_GROUP or not (group == NONE).any():
            parts[label] = None
            continue
        parts[label] = contrasts(*_masked(mask, (y, group, x, cell, units)))
    lower = _lower_is_better(name, rs)
    main = parts["all"]
    if main is None:
        word, reason = (
            NO_EVIDENCE,
            (f"fewer than {MIN_GROUP} failures with this outcome, or no unit without a failure"),
        )
    else:
        word, reason = verdict(main, lower)
        if np.isnan(main.recovered_vs_none.value):
            u = main.unrecovered_vs_none
            word, reason = (
                NO_EVIDENCE,
                (
                    "no recovery in these data, so no paradox can be tested; failed − never "
                    f"failed {u.value:+.3f} [{u.low:+.3f}, {u.high:+.3f}]"
                ),
            )
        if main.outside_overlap:
            notes.append(
                f"{name}: {main.outside_overlap} failed unit(s) have a confounder pattern no "
                "unit without a failure shares; they are left out of the comparison"
            )
    by_severity = []
    if severity is not None:
        by_severity = _by_severity(y, group, x, cell, units, severity[keep], name, notes)
    return OutcomeRecovery(
        outcome=name,
        lower_is_better=lower,
        means=means,
        all_failures=main,
        first_failures=parts["first"],
        repeated_failures=parts["repeated"],
        verdict=word,
        reason=reason,
        by_severity=by_severity,
    )


def _rows(table: pd.DataFrame, keep: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """The ``keep`` rows of the ``columns`` an outcome's contrasts read.

    The whole table when every row is kept (no copy); otherwise only those
    columns are copied, not every outcome and attribute of a million units.
    """
    if keep.all():
        return table
    return table.loc[keep, list(dict.fromkeys(columns))]


def _masked(mask: np.ndarray, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Each array's ``mask`` rows; the arrays themselves when every row is in.

    The contrasts of all failures take every row: a copy of the design (a million
    rows) and of the other arrays would hold the same numbers.
    """
    if mask.all():
        return arrays
    return tuple(a[mask] for a in arrays)


def _by_severity(
    y: np.ndarray,
    group: np.ndarray,
    x: np.ndarray,
    cell: np.ndarray,
    cluster: np.ndarray,
    severity: np.ndarray,
    name: str,
    notes: list[str],
) -> list[SeverityContrasts]:
    """The three contrasts within each severity level, against every never-failed unit."""
    out = []
    levels = sorted(set(severity[group != NONE].tolist()), key=lambda v: (v == "unknown", v))
    for level in levels:
        failed = severity == level
        n_rec = int(np.count_nonzero(failed & (group == RECOVERED)))
        n_unrec = int(np.count_nonzero(failed)) - n_rec
        if max(n_rec, n_unrec) < MIN_GROUP or not (group == NONE).any():
            notes.append(
                f"{name}: severity {level!r} has {n_rec} recovered and {n_unrec} not recovered "
                f"failure(s); fewer than {MIN_GROUP} in both, so it is not compared"
            )
            continue
        mask = (group == NONE) | failed
        c = contrasts(y[mask], group[mask], x[mask], cell[mask], cluster[mask])
        out.append(SeverityContrasts(level, n_rec, n_unrec, c))
    return out


def _speed(
    table: pd.DataFrame, name: str, confounders: list[str], cluster: np.ndarray
) -> SpeedEffect | None:
    """Outcome change per doubling of the time from failure to recovery contact."""
    hours = table["hours"].to_numpy(dtype=float)
    keep = (
        np.isfinite(hours)
        & (hours > 0)
        & table[[name, *confounders]].notna().all(axis=1).to_numpy()
    )
    if np.count_nonzero(keep) < 3 * MIN_GROUP:
        return None
    sub = _rows(table, keep, [name, "group", *confounders])
    y = sub[name].to_numpy(dtype=float)
    x, _ = design(sub, confounders)
    log_h = np.log2(hours[keep])
    fit = sm.OLS(y, np.column_stack([log_h, x])).fit(
        cov_type="cluster", cov_kwds={"groups": cluster[keep]}
    )
    slope = effect(
        float(fit.params[0]),
        float(fit.cov_params()[0, 0]),
        int(keep.sum()),
        int(np.unique(cluster[keep]).size),
    )
    edges = np.quantile(hours[keep], [0.0, 0.25, 0.5, 0.75, 1.0])
    band = np.clip(np.searchsorted(edges[1:-1], hours[keep], side="right"), 0, 3)
    recovered = (sub["group"] == RECOVERED).to_numpy()
    quartiles = [
        {
            "hours_from": float(edges[q]),
            "hours_to": float(edges[q + 1]),
            "n": int(np.count_nonzero(band == q)),
            "recovered_share": float(recovered[band == q].mean()) if (band == q).any() else 0.0,
            "mean_outcome": float(y[band == q].mean()) if (band == q).any() else float("nan"),
        }
        for q in range(4)
    ]
    lower = "churn" in name.lower()
    faster_better = slope.below_zero if not lower else slope.above_zero
    faster_worse = slope.above_zero if not lower else slope.below_zero
    if faster_better:
        word = "faster recovery recovers more"
    elif faster_worse:
        word = "slower recovery does better (check for confounding)"
    else:
        word = "no evidence that speed matters at this sample size"
    return SpeedEffect(name, slope, quartiles, word)


def _causes(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Failures per touchpoint where they went wrong, with the share recovered."""
    failed = table.loc[table["group"] != NONE]
    if failed.empty:
        return []
    rows = []
    for cause, part in failed.groupby(failed["cause"].fillna("unknown").astype(str)):
        hours = part["hours"].to_numpy(dtype=float)
        finite = hours[np.isfinite(hours)]
        rows.append(
            {
                "touchpoint": cause,
                "failures": len(part),
                "recovered_share": float((part["group"] == RECOVERED).mean()),
                "median_hours_to_recovery": float(np.median(finite)) if finite.size else None,
            }
        )
    return sorted(rows, key=lambda r: -r["failures"])
