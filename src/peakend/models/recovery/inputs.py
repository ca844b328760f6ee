"""The per-unit table the recovery analysis compares, from a dataset or a snapshot spec."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    found = journey_failures(events, rs).to_pyarrow()
    table = classify(found.to_pandas(), rs)
    renames = {f"_present_{i}": f"present:{n}" for i, n in enumerate(rs.adjust_presence)}
    table = table.rename(columns=renames)
    table = with_outcomes(table, found["journey_id"], data.outcomes)
    confounders = [*rs.confounders, *renames.values()]
    return RecoveryInputs(spec, table, list(data.outcome_names), confounders, "journey")


def with_outcomes(table: pd.DataFrame, ids: pa.ChunkedArray, outcomes: pa.Table) -> pd.DataFrame:
    """``table`` left-joined with the ``outcomes`` of its journeys (``ids``, in its row order).

    When every journey has exactly one outcome row, each row's outcomes are looked
    up by id in Arrow and set beside the table: the same frame as pandas' left
    merge, whose hashing of a million ids on both sides took about a second.
    Otherwise (a journey without outcomes or with several, ids that are not text,
    a column name on both sides) pandas' merge as before.
    """
    keys = outcomes["journey_id"]
    extra = [c for c in outcomes.column_names if c != "journey_id"]
    lookup = (
        pa.types.is_string(ids.type)
        and (pa.types.is_string(keys.type) or pa.types.is_large_string(keys.type))
        and not set(extra) & set(table.columns)
        and pc.count_distinct(keys).as_py() == outcomes.num_rows
    )
    at = pc.index_in(ids, value_set=pc.cast(keys, pa.string())) if lookup else None
    if at is None or at.null_count:
        return table.merge(outcomes.to_pandas(), on="journey_id", how="left")
    found: pd.DataFrame = outcomes.select(extra).take(at).to_pandas()
    return pd.concat([table, found], axis=1)


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
