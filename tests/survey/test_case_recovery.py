"""Closed cases fed back into the recovery analysis (`peakend cases recovery`)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from typer.testing import CliRunner

from peakend.cases import CaseStore, Rule
from peakend.cases.notify import parse_notify
from peakend.cases.recovery import QUESTION, case_recovery
from peakend.cli import app
from peakend.survey import models as m
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, EXAMPLES, free_port, invitation_request

RULES = [Rule(id="low", kind="score_at_most", cut=1, unit="logistics")]


def notify() -> object:
    data = {
        "webhook": [{"url": f"http://127.0.0.1:{free_port()}/", "secret_env": "K"}],
        "followup": {"questionnaire": "followup"},
    }
    return parse_notify(data, "notify.toml", {"K": "secret"})


def answer(store: SurveyStore, customer: int, visit: int, overall: int) -> int:
    request = dataclasses.replace(
        invitation_request(visit), customer_id=f"C{customer}", journey_id=f"J{customer}-{visit}"
    )
    (invitation,) = store.invite([request], actor="test")
    return store.submit(invitation.token, {**ANSWERS, "overall": overall}).response_id


def followup_link(store: SurveyStore, case_id: int) -> str:
    with store.engine.connect() as connection:
        rows = connection.execute(
            m.notifications.select().where(
                m.notifications.c.case_id == case_id, m.notifications.c.event == "followup"
            )
        ).all()
    return str(json.loads(rows[0].payload)["followup_link"]).split("/s/")[1]


def fill(store: SurveyStore, n_failed: int, n_plain: int) -> CaseStore:
    """Customers without a case (scores 3-5), and failed ones: half recovered."""
    cases = CaseStore(store, RULES, notify=notify())  # type: ignore[arg-type]
    admin = cases.add_user("olga", "admin", ["*"], "long password 1")
    for c in range(n_plain):
        answer(store, c, 1, 3 + c % 3)
        answer(store, c, 2, 4 + c % 2)
    failed = list(range(1000, 1000 + n_failed))
    for c in failed:
        answer(store, c, 1, 1)
    opened = cases.evaluate_new()
    assert len(opened) == n_failed
    for i, case_id in enumerate(opened):
        cases.update(admin, case_id, status="closed", note="called back")
        solved = i % 2 == 0
        store.submit(followup_link(store, case_id), {"solved": "yes" if solved else "no"})
        customer = int(cases.case(admin, case_id)[0].customer_id[1:])
        answer(store, customer, 2, (4 if solved else 2) + (i // 2) % 2)
    return cases


def test_closed_cases_recover(store: SurveyStore) -> None:
    cases = fill(store, n_failed=24, n_plain=30)
    assert cases.notify is not None
    found = case_recovery(store, cases.notify.followup)
    assert found.result.groups == {"no failure": 30, "recovered": 12, "not recovered": 12}
    assert found.followups_answered == 24 and found.customers_waiting == 0
    outcome = found.result.outcomes[0]
    means = outcome.means
    assert means["recovered"] == pytest.approx((0.75 * 6 + 1.0 * 6) / 12)
    assert means["not recovered"] == pytest.approx((0.25 * 6 + 0.5 * 6) / 12)
    main = outcome.all_failures
    assert main is not None and main.recovered_vs_unrecovered.low > 0
    assert outcome.verdict == "recovery restores part of the loss"
    assert found.sentence().startswith(QUESTION)
    assert found.result.speed is None  # too few closed cases for the speed effect
    assert not math.isnan(main.recovered_vs_unrecovered.high)


def test_small_n_says_not_enough_evidence(store: SurveyStore) -> None:
    cases = fill(store, n_failed=4, n_plain=5)
    assert cases.notify is not None
    found = case_recovery(store, cases.notify.followup)
    assert found.result.groups["recovered"] == 2
    assert found.result.outcomes[0].verdict == "no evidence at this sample size"
    assert "no evidence at this sample size" in found.sentence()


def test_open_cases_wait_and_late_ones_do_not_recover(store: SurveyStore) -> None:
    cases = CaseStore(store, RULES)
    answer(store, 1, 1, 1)
    answer(store, 2, 1, 1)
    answer(store, 3, 1, 5)
    first, second = cases.evaluate_new()
    admin = cases.add_user("olga", "admin", ["*"], "long password 1")
    cases.update(admin, first, status="closed")  # no follow-up: closed within target
    found = case_recovery(store)
    assert found.customers_waiting == 1  # the second case is open and not yet due
    assert found.result.groups == {"no failure": 1, "recovered": 1, "not recovered": 0}


def test_cli(store: SurveyStore, db: str) -> None:
    if db.startswith("postgresql"):
        pytest.skip("the commands are the same on both databases; run once")
    fill(store, n_failed=4, n_plain=5)
    runner = CliRunner()
    result = runner.invoke(app, ["cases", "recovery", "--db", db, "--json", "-q", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (
        data["question"] == QUESTION
        and data["groups"]["not recovered"] == 2 == data["groups"]["recovered"]
    )
    result = runner.invoke(app, ["cases", "report", "--db", db, "-q", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert QUESTION in result.stdout and "no evidence" in result.stdout
    result = runner.invoke(
        app, ["cases", "recovery", "--db", db, "-q", str(EXAMPLES / "first_invoice.yaml")]
    )
    assert result.exit_code != 0 and "delivery that were not loaded" in str(result.exception)
