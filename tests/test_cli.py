"""Tests for the ``peakend`` command: output, quarantine files and exit codes.

Exit codes come from :func:`peakend.cli.main`, so those tests run ``main()`` with
a command line (and once as ``python -m peakend`` in a child process);
output tests use Typer's ``CliRunner`` on the app.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from peakend.cli import app, main

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run the console entry point with ``args``; return its exit code."""
    monkeypatch.setattr(sys, "argv", ["peakend", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# -- exit codes ----------------------------------------------------------------


def test_validate_clean_data_exits_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, "validate", str(DATA / "good_long.toml")) == 0
    out = capsys.readouterr().out
    assert "good_long: 12 rows read, 12 events in 4 journeys, 0 rows quarantined" in out


def test_validate_strict_on_bad_data_exits_one_and_lists_the_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_main(monkeypatch, "validate", "--strict", str(DATA / "duplicates.toml"))
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "1 data problem(s) in strict mode" in err
    assert "duplicates.csv: 3 duplicate event(s)" in err
    assert "(row 3, 5, 6)" in err


def test_validate_without_strict_quarantines_and_exits_zero(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "q.csv"
    code = run_main(
        monkeypatch, "validate", str(DATA / "duplicates.toml"), "--quarantine", str(target)
    )
    assert code == 0
    assert target.is_file()
    captured = capsys.readouterr()
    assert "3 rows quarantined" in captured.out
    assert "Quarantined rows written to" in captured.err


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "does/not/exist.toml"],
        ["validate", str(DATA / "good_long.csv")],  # not TOML
    ],
    ids=["missing-spec", "not-toml"],
)
def test_spec_errors_exit_two(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert run_main(monkeypatch, *args) == 2
    assert "error:" in capsys.readouterr().err


def test_unknown_key_in_the_spec_exits_two(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (DATA / "good_long.toml").read_text(encoding="utf-8")
    text = text.replace('path = "good_long.csv"', f'path = "{DATA / "good_long.csv"}"')
    spec = tmp_path / "typo.toml"
    spec.write_text(text.replace("default_scale", "defualt_scale"), encoding="utf-8")
    assert run_main(monkeypatch, "validate", str(spec)) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "unknown key(s) defualt_scale in the top level" in err


def test_missing_data_file_exits_two(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "s"\n[source]\npath = "gone.csv"\n[columns]\njourney_id = "id"\ntouchpoint = "s"\n',
        encoding="utf-8",
    )
    assert run_main(monkeypatch, "validate", str(spec)) == 2
    err = capsys.readouterr().err  # (a long path may be broken across lines anywhere)
    assert "gone.csvdoesnotexist;check`path`" in "".join(err.split())


SNAPSHOT_SPEC = """name = "subscribers"
snapshot = true

[source]
path = "subscribers.csv"

[columns]
journey_id = "customer"

[outcomes.churned]
column = "churned"
kind = "binary"
positive = ["yes"]
"""


@pytest.mark.parametrize("command", ["validate", "journeys", "moments", "analyze"])
def test_a_snapshot_is_refused_where_events_are_needed_with_the_commands_that_read_it(
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "subscribers.csv").write_text("customer,churned\nC1,yes\nC2,no\n", encoding="utf-8")
    spec = tmp_path / "subscribers.toml"
    spec.write_text(SNAPSHOT_SPEC, encoding="utf-8")
    extra = ["--out", str(tmp_path / "report"), "--no-pdf"] if command == "analyze" else []
    assert run_main(monkeypatch, command, str(spec), *extra) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "per-customer snapshot (snapshot = true)" in err
    assert "run `peakend churn SPEC` or `peakend recovery SPEC`" in err
    assert not (tmp_path / "report" / "results.json").exists()


def test_empty_data_file_exits_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, "validate", str(DATA / "empty.toml")) == 1
    assert "is empty" in capsys.readouterr().err


def test_usage_errors_exit_two(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, "validate", "--no-such-option", "x.toml") == 2
    assert "No such option" in capsys.readouterr().err
    assert run_main(monkeypatch, "frobnicate") == 2


def test_python_dash_m_peakend_runs_and_maps_strict_failure_to_one(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    ok = subprocess.run(
        [sys.executable, "-m", "peakend", "validate", str(DATA / "good_long.toml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "0 rows quarantined" in ok.stdout
    strict = subprocess.run(
        [
            sys.executable,
            "-m",
            "peakend",
            "validate",
            "--strict",
            str(DATA / "bad_timestamps.toml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert strict.returncode == 1
    assert "bad_timestamps.csv" in strict.stderr
    assert not list(tmp_path.iterdir())  # strict mode writes no quarantine file


# -- output ----------------------------------------------------------------------


def test_validate_writes_the_quarantine_csv_with_reason_and_record(tmp_path: Path) -> None:
    target = tmp_path / "bad.csv"
    result = runner.invoke(
        app, ["validate", str(DATA / "bad_timestamps.toml"), "--quarantine", str(target)]
    )
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == ["2", "4"]
    assert {r["reason"] for r in rows} == {"bad_timestamp"}
    assert {r["source"] for r in rows} == {"bad_timestamps.csv"}
    assert json.loads(rows[0]["record"])["timestamp"] == "yesterday"
    assert "Fix:" in rows[0]["message"]


def test_validate_default_quarantine_file_is_named_after_the_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", str(DATA / "duplicates.toml")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "duplicates.quarantine.csv").is_file()


def test_validate_clean_data_writes_no_quarantine_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", str(DATA / "good_long.toml")])
    assert result.exit_code == 0
    assert not list(tmp_path.iterdir())


def test_validate_json_reports_counts_problems_and_the_quarantine_file(tmp_path: Path) -> None:
    target = tmp_path / "q.csv"
    result = runner.invoke(
        app,
        ["validate", str(DATA / "cp1252_as_utf8.toml"), "--json", "--quarantine", str(target)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert (report["rows_read"], report["events_loaded"], report["quarantined_rows"]) == (6, 3, 3)
    assert report["quarantine_file"] == str(target)
    (problem,) = report["problems"]
    assert problem["reason"] == "bad_encoding"
    assert problem["rows"] == [2, 4, 6]


def test_validate_prints_each_problem_with_its_fix() -> None:
    result = runner.invoke(app, ["validate", str(DATA / "mixed_timezones.toml")])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "warning" in text
    assert "without offset among values with one (row 2, 4, 6)" in text


def test_journeys_json_has_counts_touchpoints_flows_and_validation() -> None:
    result = runner.invoke(app, ["journeys", str(DATA / "good_long.toml"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"n_journeys", "touchpoints", "flows", "validation"} <= set(summary)
    assert summary["n_journeys"] == 4
    assert summary["n_events"] == 12
    assert summary["outcome"] == "satisfied"
    assert [t["touchpoint"] for t in summary["touchpoints"]] == [
        "search",
        "booking",
        "support",
        "delivery",
    ]
    steps = {(f["source"], f["target"]) for f in summary["flows"]}
    assert ("search", "booking") in steps
    assert summary["validation"]["ok"] is True
    assert summary["validation"]["rows_read"] == 12


def test_journeys_table_output_and_parquet_tables(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["journeys", str(DATA / "wide_survey.toml"), "--out", str(tmp_path / "t")]
    )
    assert result.exit_code == 0, result.output
    assert "wide_survey: 5 journeys, 13 events" in " ".join(result.stdout.split())
    written = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert written == ["flows.parquet", "journeys.parquet", "scores.parquet", "touchpoints.parquet"]


def test_journeys_unknown_outcome_is_a_spec_error(monkeypatch: pytest.MonkeyPatch) -> None:
    code = run_main(
        monkeypatch, "journeys", str(DATA / "good_long.toml"), "--outcome", "nope", "--json"
    )
    assert code == 2


def test_journey_summary_is_identical_from_run_to_run(tmp_path: Path) -> None:
    from peakend import load, summarize_journeys
    from peakend.generate import GeneratorConfig, generate

    spec = generate(tmp_path, GeneratorConfig(n_journeys=3_000, seed=2)).spec_path
    data = load(spec)
    first = json.dumps(summarize_journeys(data).to_dict(), default=str)
    again = json.dumps(summarize_journeys(data).to_dict(), default=str)
    assert first == again


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["journeys"],
        ["moments"],
        ["memory"],
        ["hidden"],
        ["hidden-schedule", "--rule", "booking+2d:phone:confirm"],
        ["churn"],
        ["recovery"],
        ["analyze", "--no-pdf", "--no-images"],
    ],
)
def test_every_command_on_events_takes_the_same_backend_option(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PEAKEND_BACKEND", raising=False)
    spec = str(DATA / "good_long.toml")
    code = run_main(monkeypatch, command[0], spec, *command[1:], "--backend", "flink")
    assert code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "error: --backend='flink' is not a backend; use one of duckdb, spark" in message
