"""The ``hidden`` and ``hidden-schedule`` commands, and the hidden-moment run on real event logs."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import peakend
from peakend.cli import app
from peakend.errors import DataError
from peakend.generate import DEFAULT_PROACTIVE, GeneratorConfig, generate
from peakend.models.hidden.analysis import find_hidden_moments

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = GeneratorConfig(n_journeys=2_000, seed=5, proactive=DEFAULT_PROACTIVE)
    return generate(tmp_path_factory.mktemp("hidden_cli"), config).spec_path


def test_hidden_json_lists_moments_with_intervals(spec: Path) -> None:
    result = runner.invoke(app, ["hidden", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    anchors = {m["anchor"] for m in data["moments"]}
    assert {"subscription_started", "first_invoice"} <= anchors
    for m in data["moments"]:
        assert m["excess_per_1000"]["low"] <= m["excess_per_1000"]["value"]
        assert m["intervention"]["basis"] in ("observed", "assumed")


def test_hidden_table_and_timeline_charts(spec: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["hidden", str(spec), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "first-invoice worry" in result.stdout
    assert "suggested" in result.stdout
    assert (tmp_path / "hidden_first_invoice.html").stat().st_size > 100_000


def test_hidden_schedule_writes_due_actions(spec: Path, tmp_path: Path) -> None:
    events = peakend.load(spec).events.to_pandas()
    anchor_day = events.loc[events["touchpoint"] == "first_invoice", "ts"].dt.date.min()
    due = (anchor_day + timedelta(days=1)).isoformat()
    out = tmp_path / "due.csv"
    args = ["hidden-schedule", str(spec), "--rule", "first_invoice+1d:email:explain the invoice"]
    result = runner.invoke(app, [*args, "--date", due, "--csv", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert payload["n"] == len(rows) >= 1
    assert rows[0]["channel"] == "email"
    skipped = runner.invoke(app, [*args, "--date", due, "--skip-if", "first_invoice", "--json"])
    assert skipped.exit_code == 0, skipped.output
    assert json.loads(skipped.stdout)["n"] == 0  # the anchor itself always follows the anchor


def test_hidden_says_when_nothing_stands_out(spec: Path) -> None:
    result = runner.invoke(app, ["hidden", str(spec), "--anchor", "review_invitation"])
    assert result.exit_code == 0, result.output
    assert "Nothing stands out" in result.stdout


def test_hidden_unknown_anchor_is_a_usage_error(spec: Path) -> None:
    result = runner.invoke(app, ["hidden", str(spec), "--anchor", "nope"])
    assert result.exit_code != 0


def _example(name: str) -> peakend.Dataset:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} is not present")
    return peakend.load(ROOT / "examples" / f"{name.split('/')[0]}.toml")


def test_bpic2012_offer_replies_are_found_after_the_application_is_accepted() -> None:
    """Offers go out within days of A_ACCEPTED and customers reply 1-3 weeks later.

    The window is found after the acceptance, which the offer follows within a
    day or so; the log has no text, so no classic is claimed from words; A_APPROVED
    and O_ACCEPTED are logged together.
    """
    data = _example("bpic2012_loan_application")
    result = find_hidden_moments(data, horizon=28)
    labels = {m.moment.anchor: m for m in result.moments}
    assert "A_ACCEPTED" in labels
    moment = labels["A_ACCEPTED"].moment
    assert 3 <= moment.first_offset <= 7 and moment.last_offset >= 12
    assert moment.excess_per_1000.low > 0
    assert labels["A_ACCEPTED"].classic is None
    assert "A_APPROVED" in {t.anchor for t in result.logged_together}


def test_receipt_log_has_no_customer_contacts_and_says_so() -> None:
    data = _example("receipt_wabo_permit")
    with pytest.raises(DataError, match="initiated_by"):
        find_hidden_moments(data)
