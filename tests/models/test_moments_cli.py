"""Tests for ``peakend moments``, the moment matrix chart and the real airline survey."""

from __future__ import annotations

import dataclasses
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import peakend
from peakend import load
from peakend.cli import app, main
from peakend.errors import StatisticalWarning
from peakend.generate import GeneratorConfig, generate
from peakend.models.moments import MomentSettings, find_moments
from peakend.models.moments.design import build_design
from peakend.models.moments.fit import fit_predict
from peakend.models.moments.holdout import fold_of_rows
from peakend.models.moments.segments import group_labels
from peakend.views import chart_rows

ROOT = Path(__file__).resolve().parents[2]
AIRLINE = ROOT / "examples" / "airline_passenger_satisfaction.toml"
AIRLINE_DATA = ROOT.parent / "shared" / "data" / "airline_passenger_satisfaction"
runner = CliRunner()


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = dataclasses.replace(
        GeneratorConfig(n_journeys=1_500, seed=7), w_peak=0.0, w_end=0.0, w_mean=0.0, w_trough=0.0
    )
    return generate(tmp_path_factory.mktemp("cli"), cfg).spec_path


def test_json_has_every_figure_with_interval(spec: Path) -> None:
    args = ["moments", str(spec), "--outcome", "overall", "--resamples", "10", "--json"]
    result = runner.invoke(app, [*args, "--no-segments"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model"] == "ols" and data["n_journeys"] == 1_500
    install = next(t for t in data["touchpoints"] if t["touchpoint"] == "installation")
    assert install["class"] == "moment_of_truth" and install["recommendation"] == "fix"
    for key in ("penalty", "reward", "importance"):
        assert {"value", "low", "high", "n"} <= set(install[key])
    assert data["segments"] == []


def test_table_sorted_by_impact_with_segments(spec: Path) -> None:
    result = runner.invoke(app, ["moments", str(spec), "--outcome", "overall", "--resamples", "10"])
    assert result.exit_code == 0, result.output
    assert "Touchpoints by impact" in result.stdout
    assert "moment of truth" in result.stdout and "excel" in result.stdout
    assert "segment = business" in result.stdout and "class differs" in result.stdout


def test_plot_is_written(spec: Path, tmp_path: Path) -> None:
    stem = tmp_path / "matrix"
    args = ["moments", str(spec), "--resamples", "10", "--no-segments", "--plot", str(stem)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for suffix in (".html", ".png", ".svg"):
        assert stem.with_suffix(suffix).stat().st_size > 1_000
    assert "moment of truth" in stem.with_suffix(".svg").read_text()


def test_half_given_cut_points_are_a_usage_error(
    spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["peakend", "moments", str(spec), "--low-max", "2"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "--high-min" in capsys.readouterr().err


def test_moment_matrix_figure(spec: Path) -> None:
    result = find_moments(
        load(spec), outcome="overall", settings=MomentSettings(n_resamples=10), segments=()
    )
    points = [r for r in chart_rows(peakend.moment_matrix(result)) if "penalty" in r]
    assert {"moment of truth", "excel moment", "standard moment"} <= {r["class"] for r in points}
    assert len(points) == sum(1 for m in result.touchpoints if m.counts["middle"] > 0)


def test_moment_matrix_draws_no_bubble_over_another(spec: Path) -> None:
    """Two touchpoints with the same estimates are drawn side by side; the exact value
    stays in the data (and the tooltip) and is marked where the bubble moved."""
    result = find_moments(
        load(spec), outcome="overall", settings=MomentSettings(n_resamples=10), segments=()
    )
    original = next(m for m in result.touchpoints if m.counts["middle"] > 0)
    twin = dataclasses.replace(original, touchpoint="twin")
    crowded = dataclasses.replace(result, touchpoints=(*result.touchpoints, twin))
    chart = peakend.moment_matrix(crowded, width=640, height=360)
    rows = [r for r in chart_rows(chart) if "shown_penalty" in r]
    first, second = (r for r in rows if r["touchpoint"] in (original.touchpoint, "twin"))
    assert (first["penalty"], first["reward"]) == (second["penalty"], second["reward"])
    assert first["dodged"] and second["dodged"]
    assert (first["shown_penalty"], first["shown_reward"]) != (
        second["shown_penalty"],
        second["shown_reward"],
    )


@pytest.mark.skipif(not AIRLINE_DATA.exists(), reason="shared airline data not present")
def test_airline_drivers_match_what_is_known() -> None:
    data = load(AIRLINE)
    # passengers who rate neither online boarding nor online booking ("not applicable")
    # are largely the same people: a real, reported collinearity
    with pytest.warns(StatisticalWarning, match="online_booking"):
        result = find_moments(
            data, outcome="satisfied", settings=MomentSettings(n_resamples=10), segments=()
        )
    assert result.model == "logistic" and result.n_journeys == 129_880
    top = [m.touchpoint for m in result.touchpoints[:2]]
    assert top == ["online_boarding", "in_flight_wifi"]
    assert result.by_name("online_boarding").moment_class == "excel"
    assert result.fit.low > 0.45


@pytest.mark.skipif(not AIRLINE_DATA.exists(), reason="shared airline data not present")
def test_airline_leisure_folds_converge() -> None:
    """Leisure travellers who did not rate the wifi were all satisfied: a separated band.

    The ridge holds its coefficient finite (about 14); the fit must say it
    converged there. Stopping on the unpenalised deviance, which float32
    rounding moves by more than the tolerance at that coefficient, ran one
    fold to the iteration limit with a warning that the fit did not converge.
    """
    data = load(AIRLINE)
    design = build_design(data, "satisfied")
    labels = np.array(group_labels(data, design, "Type of Travel"), dtype=object)
    leisure = design.subset(np.flatnonzero(labels == "Personal"))
    fold = fold_of_rows(leisure, 5, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        for i in range(5):
            train = leisure.subset(np.flatnonzero(fold != i))
            predicted = fit_predict(train, leisure.subset(np.flatnonzero(fold == i)))
            assert np.isfinite(predicted).all()
