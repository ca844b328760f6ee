"""The ``peakend users`` and ``peakend cases`` commands, and `serve`'s checks before it starts."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from peakend.cli import app, main
from peakend.survey.questionnaire import read_questionnaires
from peakend.survey.store import InvitationRequest, SurveyStore

from .conftest import ANSWERS, EXAMPLES

runner = CliRunner()
ALERTS = Path(__file__).resolve().parents[2] / "examples" / "alerts.toml"


def run(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def exit_code(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["peakend", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    return int(stopped.value.code or 0)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "survey.db")
    store = SurveyStore.open(path, read_questionnaires(EXAMPLES))
    for n, overall in enumerate([1, 5, 2], 1):
        invitation = store.invite(
            [
                InvitationRequest(
                    f"C{n}",
                    f"J{n}",
                    "delivery",
                    datetime(2025, 3, n, tzinfo=UTC),
                )
            ],
            actor="test",
        )[0]
        store.submit(invitation.token, {**ANSWERS, "overall": overall})
    store.engine.dispose()
    return path


def test_users_and_cases(db: str) -> None:
    env = {"PEAKEND_PASSWORD": "long password 1"}
    run(
        "users",
        "add",
        "--db",
        db,
        "--name",
        "olga",
        "--role",
        "case_owner",
        "--units",
        "logistics",
        env=env,
    )
    users = json.loads(run("users", "list", "--db", db, "--json"))["users"]
    assert users == [{"name": "olga", "role": "case_owner", "units": ["logistics"]}]
    opened = json.loads(run("cases", "evaluate", "--db", db, "--rules", str(ALERTS), "--json"))
    assert len(opened["opened"]) == 2  # overall 1 and 2 at delivery
    assert json.loads(run("cases", "evaluate", "--db", db, "--rules", str(ALERTS), "--json")) == {
        "ok": True,
        "opened": [],
    }
    assert json.loads(run("cases", "escalate", "--db", db, "--json"))["escalated"] == []
    report = json.loads(run("cases", "report", "--db", db, "--json"))
    assert report["n_cases"] == 2 and report["n_open"] == 2 and report["hours_to_close"] is None
    assert "2 case(s): 2 open" in run("cases", "report", "--db", db)


def test_mistakes(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEAKEND_PASSWORD", "short")
    assert (
        exit_code(
            monkeypatch,
            "users",
            "add",
            "--db",
            db,
            "--name",
            "a",
            "--role",
            "viewer",
            "--units",
            "x",
        )
        != 0
    )
    monkeypatch.setenv("PEAKEND_PASSWORD", "long password 1")
    assert (
        exit_code(
            monkeypatch, "users", "add", "--db", db, "--name", "a", "--role", "boss", "--units", "x"
        )
        != 0
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\nkind = "score_at_most"\n')
    code = exit_code(monkeypatch, "serve", "--db", db, "-q", str(EXAMPLES), "--rules", str(bad))
    assert code == 2
