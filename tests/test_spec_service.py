"""The [recovery], [churn] and snapshot keys of a dataset spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from peakend.errors import ConfigError
from peakend.spec import parse_spec

BASE = {
    "name": "x",
    "source": {"path": "customers.csv"},
    "columns": {"journey_id": "id"},
    "snapshot": True,
}


def test_snapshot_needs_no_touchpoint_column() -> None:
    spec = parse_spec(BASE, base_dir=Path("."))
    assert spec.snapshot and spec.recovery is None and spec.churn is None


def test_recovery_and_churn_sections() -> None:
    raw = {
        **BASE,
        "recovery": {"failure_column": "Complains", "confounders": ["Age"]},
        "churn": {"churned": "Churn", "time": "Months", "covariates": ["Age"]},
    }
    spec = parse_spec(raw, base_dir=Path("."))
    assert spec.recovery is not None and spec.recovery.confounders == ("Age",)
    assert spec.churn is not None and spec.churn.origin == "first_event"


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"recovery": {}}, "declare the failure"),
        ({"recovery": {"failure_column": "x", "typo": 1}}, "unknown key"),
        ({"churn": {"churned": "c"}}, "declare churn"),
        ({"churn": {"inactivity_days": 90, "origin": "middle"}}, "origin must be"),
    ],
)
def test_bad_sections_say_what_to_write(section: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec({**BASE, **section}, base_dir=Path("."))


def test_long_layout_without_snapshot_still_needs_a_touchpoint() -> None:
    raw = {**BASE, "snapshot": False}
    with pytest.raises(ConfigError, match="touchpoint"):
        parse_spec(raw, base_dir=Path("."))
