"""``peakend recovery`` and ``peakend churn`` from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from peakend.cli import app, main
from peakend.datasets import demo_spec_path

runner = CliRunner()


def test_recovery_json_on_the_demo() -> None:
    result = runner.invoke(app, ["recovery", str(demo_spec_path()), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["groups"]) == {"no failure", "recovered", "not recovered"}
    overall = next(o for o in data["outcomes"] if o["outcome"] == "overall")
    assert overall["verdict"] == "recovery restores part of the loss"


def test_churn_table_on_the_demo() -> None:
    result = runner.invoke(app, ["churn", str(demo_spec_path())])
    assert result.exit_code == 0, result.output
    assert "negative_moments" in result.output
    assert "avoidable churn" in result.output


def test_churn_without_section_exits_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = demo_spec_path().read_text()
    spec = tmp_path / "demo.toml"
    spec.write_text(
        text[: text.index("[churn]")]
        .replace('"events.parquet"', f'"{demo_spec_path().parent / "events.parquet"}"')
        .replace('"outcomes.parquet"', f'"{demo_spec_path().parent / "outcomes.parquet"}"')
    )
    monkeypatch.setattr(sys, "argv", ["peakend", "churn", str(spec)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "[churn]" in capsys.readouterr().err
