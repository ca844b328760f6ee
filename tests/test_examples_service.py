"""Recovery and churn on the real churn and complaint datasets in ``../shared/data``.

Skipped when the data folder is absent. Figures checked against the counts the
datasets' READMEs publish.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from peakend.errors import ConfigError
from peakend.models.churn import churn_drivers
from peakend.models.recovery import service_recovery
from peakend.spec import DatasetSpec, read_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED_DATA = ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"the real datasets are not present in {SHARED_DATA}"
)


def example(name: str) -> DatasetSpec:
    spec = read_spec(EXAMPLES / f"{name}.toml")
    assert spec.source.path is not None
    if not spec.source.path.is_file():
        pytest.skip(f"{spec.source.path} is not present")
    return spec


def test_cell2cell_retention_groups_and_verdict() -> None:
    result = service_recovery(example("cell2cell_churn"))
    assert result.groups == {"no failure": 49_302, "recovered": 881, "not recovered": 864}
    churned = result.outcomes[0]
    assert churned.lower_is_better
    assert round(churned.means["recovered"], 3) == 0.411  # README: 41.1 %
    assert round(churned.means["not recovered"], 3) == 0.491  # README: 49.1 %
    c = churned.all_failures
    assert c is not None
    # recovered customers still churn more than those who never called the retention desk
    assert c.recovered_vs_none.low > 0
    assert churned.verdict != "paradox holds"


def test_cell2cell_churn_snapshot() -> None:
    result = churn_drivers(example("cell2cell_churn"))
    assert result.kind == "snapshot"
    assert (result.customers, result.churners) == (51_047, 14_711)
    assert result.concordance is not None and result.concordance > 0.55


def test_iranian_complaints_and_churn() -> None:
    spec = example("iranian_churn")
    recovery = service_recovery(spec)
    assert recovery.groups["not recovered"] == 241 and recovery.groups["recovered"] == 0
    assert "no recovery in these data" in recovery.outcomes[0].reason
    churn = churn_drivers(spec)
    assert (churn.customers, churn.churners) == (3_150, 495)
    complains = next(d for d in churn.drivers if d.covariate.startswith("Complains"))
    assert complains.low > 1
    assert churn.avoidable is not None and churn.avoidable.total.low > 0


def test_telco_churn_without_recovery() -> None:
    spec = example("telco_customer_churn")
    churn = churn_drivers(spec)
    assert churn.churners == 1_869
    assert churn.avoidable is None
    assert any("determined by the other covariates" in n for n in churn.notes)
    with pytest.raises(ConfigError, match=r"\[recovery\]"):
        service_recovery(spec)


def test_bpic2016_first_and_repeated_complaints() -> None:
    result = service_recovery(example("bpic2016_complaints"))
    assert sum(result.groups.values()) == 226
    assert result.groups["not recovered"] == 226
    assert sum(c["failures"] for c in result.causes) == 226
    assert result.repeated > 0
    assert result.outcomes == []
