"""The per-unit table the recovery analysis compares, from a dataset or a snapshot spec."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from peakend.errors import ConfigError
from peakend.load import Dataset, load
from peakend.models.recovery.data import classify, journey_failures, snapshot_groups
from peakend.models.snapshot import read_snapshot
from peakend.spec import DatasetSpec, read_spec


@dataclass(frozen=True)
class RecoveryInputs:
    """One row per unit: ``group``, ``repeated``, ``hours``, ``cause``, outcomes, confounders."""

    spec: DatasetSpec
    table: pd.DataFrame
    outcome_names: list[str]
    confounders: list[str]
    unit: str


def recovery_inputs(data: Dataset | DatasetSpec | str | Path) -> RecoveryInputs:
    """Build the per-unit table: one engine query over events, or the snapshot's columns."""
    if isinstance(data, str | Path):
        data = read_spec(data)
    if isinstance(data, DatasetSpec) and data.snapshot:
        return _from_snapshot(data)
    if isinstance(data, DatasetSpec):
        data = load(data)
    return _from_dataset(data)


def _spec(spec: DatasetSpec) -> DatasetSpec:
    if spec.recovery is None:
        raise ConfigError(
            f"{spec.spec_path or spec.name}: add a [recovery] section that declares the "
            'failure, e.g. failure_touchpoints = ["complaint"] (docs/recovery.md)'
        )
    return spec


def _from_dataset(data: Dataset) -> RecoveryInputs:
    from peakend.engine import dataset_events

    spec = _spec(data.spec)
    assert spec.recovery is not None
    rs = spec.recovery
    _, events = dataset_events(data)
    per_journey = journey_failures(events, rs).to_pyarrow().to_pandas()
    table = classify(per_journey, rs)
    renames = {f"_present_{i}": f"present:{n}" for i, n in enumerate(rs.adjust_presence)}
    table = table.rename(columns=renames)
    outcomes = data.outcomes.to_pandas()
    table = table.merge(outcomes, on="journey_id", how="left")
    confounders = [*rs.confounders, *renames.values()]
    return RecoveryInputs(spec, table, list(data.outcome_names), confounders, "journey")


def _from_snapshot(spec: DatasetSpec) -> RecoveryInputs:
    spec = _spec(spec)
    assert spec.recovery is not None
    rs = spec.recovery
    if rs.failure_column is None:
        raise ConfigError(
            f"{spec.spec_path or spec.name} [recovery]: a snapshot declares the failure "
            'as a column, e.g. failure_column = "Complains"'
        )
    raw, id_col = read_snapshot(spec)
    groups = snapshot_groups(raw, rs, id_col)
    extra = [o.name for o in spec.outcomes] + [c for c in rs.confounders if c in raw.columns]
    if rs.severity and rs.severity in raw.columns and rs.severity not in extra:
        extra.append(rs.severity)
    table = pd.concat([groups, raw[extra].reset_index(drop=True)], axis=1)
    names = [o.name for o in spec.outcomes]
    return RecoveryInputs(spec, table, names, list(rs.confounders), "customer")
