"""The recovery and churn chart specs are valid Vega-Lite with the result's figures."""

from __future__ import annotations

from typing import Any

from peakend.datasets import demo_spec_path
from peakend.models.churn import churn_drivers
from peakend.models.recovery import service_recovery
from peakend.views.churn import avoidable_chart, group_label, survival_chart
from peakend.views.recovery import recovery_chart


def _values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline data rows of a layered spec (Altair may lift them to the top)."""
    data = spec.get("data") or spec["layer"][0]["data"]
    return list(data["values"])


def test_recovery_chart_carries_the_contrasts() -> None:
    result = service_recovery(demo_spec_path(), outcomes=["overall"])
    spec = recovery_chart(result).to_dict()
    values = _values(spec)
    c = result.outcomes[0].all_failures
    assert c is not None
    assert values[0]["value"] == c.recovered_vs_none.value
    assert len(values) == 3


def test_churn_charts() -> None:
    result = churn_drivers(demo_spec_path())
    curves = survival_chart(result.curves_by_experience, time_unit="days").to_dict()
    groups = {row["group"] for row in _values(curves)}
    assert groups == {group_label(c.label, "en") for c in result.curves_by_experience}
    dutch = survival_chart(result.curves_by_experience, lang="nl").to_dict()
    assert all("negatie" in row["group"] for row in _values(dutch)), _values(dutch)[:1]
    bars = avoidable_chart(result).to_dict()
    assert [row["value"] for row in _values(bars)] == [
        e.value for _, e in result.avoidable.by_cause[:10]
    ]
