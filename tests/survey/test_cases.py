"""Cases from alert rules: rules file, opening, visibility, changes, escalation, erasure."""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from peakend.cases import AlertWorker, CaseStore, Rule, case_report, read_rules
from peakend.cases.auth import check_password, hash_password
from peakend.cases.endings import SharedEndings
from peakend.cases.errors import CaseError, CaseNotFoundError, ForbiddenError
from peakend.cases.report import median_hours
from peakend.errors import ConfigError
from peakend.survey import models as m
from peakend.survey.errors import AccessError
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, invitation_request

RULES = [
    Rule(id="low-overall", kind="score_at_most", cut=2, unit="logistics"),
    Rule(id="bad-ending", kind="negative_ending", unit="logistics"),
    Rule(id="repeat", kind="repeated_negative", cut=3, count=2, days=30, unit="care"),
]


def fake_endings(texts: list[str]) -> list[str | None]:
    """Labels for the unit tests (the real scorer is used in test_real_scorer)."""
    return ["negative" if "boos" in t else "positive" for t in texts]


def answer(store: SurveyStore, n: int, **changes: object) -> int:
    invitation = store.invite([invitation_request(n)], actor="test")[0]
    return store.submit(invitation.token, {**ANSWERS, **changes}).response_id


@pytest.fixture
def cases(store: SurveyStore) -> CaseStore:
    return CaseStore(store, RULES, endings=fake_endings)


def test_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nid = "low"\nkind = "score_at_most"\ncut = 2\ntouchpoint = "delivery"\n'
        '[[rule]]\nid = "end"\nkind = "negative_ending"\ndue_hours = 24\n'
    )
    rules = read_rules(path)
    assert [r.id for r in rules] == ["low", "end"]
    assert rules[1].due_hours == 24 and rules[0].applies_to("delivery")
    assert not rules[0].applies_to("invoice")


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ('[[rule]]\nid = "x"\nkind = "low"\n', "kind must be one of"),
        ('[[rule]]\nid = "x"\nkind = "score_at_most"\n', "needs a number `cut`"),
        ('[[rule]]\nkind = "negative_ending"\n', "give it an id"),
        ('[[rule]]\nid = "x"\nkind = "negative_ending"\ncolour = 1\n', "unknown key"),
        ("x = 1\n", "at least one [[rule]]"),
        ('[[rule]]\nid = "x"\nkind = "negative_ending"\n' * 2, "repeated: x"),
        ("[[rule", "not valid TOML"),
    ],
)
def test_bad_rules_file(tmp_path: Path, text: str, fix: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fix.replace("[", r"\[")):
        read_rules(path)


def test_passwords() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert check_password("correct horse battery", stored)
    assert not check_password("wrong horse battery", stored)
    assert hash_password("same password") != hash_password("same password")  # salted
    assert not check_password("x", "garbage")


def test_rules_open_cases(store: SurveyStore, cases: CaseStore) -> None:
    admin = cases.add_user("ann", "admin", ["*"], "long password 1")
    answer(store, 1, overall=5)
    low = answer(store, 2, overall=1)
    answer(store, 3, overall=4, comment="Ik ben boos")
    opened = cases.evaluate_new()
    assert len(opened) == 2
    assert cases.evaluate_new() == []  # each answer is looked at once
    found = {c.rule: c for c in cases.cases(admin)}
    assert set(found) == {"low-overall", "bad-ending"}
    case = found["low-overall"]
    assert case.customer_id == "C2" and case.unit == "logistics" and case.status == "open"
    assert case.trigger["answers"]["overall"] == 1
    assert case.due_at - case.opened_at == timedelta(hours=48)
    with store.engine.connect() as connection:
        ids = connection.execute(sa.select(m.cases.c.response_id)).scalars().all()
    assert low in ids


def test_repeated_negative(store: SurveyStore, cases: CaseStore) -> None:
    admin = cases.add_user("ann", "admin", ["*"], "long password 1")
    requests = [dataclasses.replace(invitation_request(n), customer_id="C9") for n in (1, 2, 3)]
    invitations = store.invite(requests, actor="test")
    store.submit(invitations[0].token, {**ANSWERS, "overall": 3})
    cases.evaluate_new()
    assert [c.rule for c in cases.cases(admin)] == []
    store.submit(invitations[1].token, {**ANSWERS, "overall": 3})
    store.submit(invitations[2].token, {**ANSWERS, "overall": 3})
    cases.evaluate_new()
    # Two low answers within 30 days open one case; a third adds none while it is open.
    assert [(c.rule, c.customer_id) for c in cases.cases(admin)] == [("repeat", "C9")]


def test_units_roles_and_changes(store: SurveyStore, cases: CaseStore) -> None:
    owner = cases.add_user("olga", "case_owner", ["logistics"], "long password 1")
    other = cases.add_user("vic", "viewer", ["care"], "long password 2")
    answer(store, 1, overall=1)
    (case_id,) = cases.evaluate_new()
    assert [c.id for c in cases.cases(owner)] == [case_id]
    assert cases.cases(other) == []
    with pytest.raises(CaseNotFoundError):
        cases.case(other, case_id)
    with pytest.raises(ForbiddenError):
        cases.update(other, case_id, status="closed")
    with pytest.raises(CaseError):
        cases.update(owner, case_id, status="done")
    with pytest.raises(CaseError):
        cases.update(owner, case_id, note="   ")
    changed = cases.update(owner, case_id, status="in_progress", note="Called <b>back</b>")
    assert changed.first_response_at is not None and changed.closed_at is None
    closed = cases.update(owner, case_id, status="closed", root_cause="late driver")
    assert closed.closed_at is not None and closed.root_cause == "late driver"
    assert closed.first_response_at == changed.first_response_at
    _, notes = cases.case(owner, case_id)
    assert [n.text for n in notes] == ["Called <b>back</b>"]
    actions = [e["action"] for e in store.audit_log()]
    assert "view-case" in actions and "change-case" in actions and "open-case" in actions


def test_escalation_and_report(store: SurveyStore, cases: CaseStore) -> None:
    admin = cases.add_user("ann", "admin", ["*"], "long password 1")
    for n in range(1, 9):
        answer(store, n, overall=1)
    ids = cases.evaluate_new()
    for case_id in ids[:6]:
        cases.update(admin, case_id, status="closed")
    assert cases.escalate_overdue() == []
    later = datetime.now(UTC) + timedelta(hours=49)
    assert sorted(cases.escalate_overdue(now=later)) == sorted(ids[6:])
    report = case_report(cases.cases(admin), now=later)
    assert case_report(cases.timings(admin), now=later) == report
    assert report.n_cases == 8 and report.n_escalated == 2 and report.n_open == 2
    assert report.hours_to_close is not None and report.hours_to_close.n == 6
    assert report.hours_to_close.low <= report.hours_to_close.value <= report.hours_to_close.high
    share = report.closed_within_target
    assert share is not None and share.n == 8 and share.value == pytest.approx(6 / 8)
    assert 0 < share.low < 6 / 8 < share.high < 1
    few = case_report(cases.cases(admin)[-2:], now=later).hours_to_close
    assert few is not None and few.n == 2 and math.isnan(few.low)
    assert case_report([]).to_dict()["hours_to_close"] is None


def test_sessions(store: SurveyStore, cases: CaseStore) -> None:
    cases.add_user("ann", "analyst", ["logistics"], "long password 1")
    with pytest.raises(AccessError):
        cases.login("ann", "wrong password!!")
    with pytest.raises(AccessError):
        cases.login("nobody", "long password 1")
    token, csrf = cases.login("ann", "long password 1")
    found = cases.session(token)
    assert found is not None and found[0].name == "ann" and found[1] == csrf
    assert cases.session(token + "x") is None and cases.session(None) is None
    with store.engine.connect() as connection:
        stored = connection.execute(sa.select(m.sessions.c.token_hash)).scalar_one()
    assert token not in stored  # only the hash is kept
    with store.engine.begin() as connection:
        connection.execute(m.sessions.update().values(expires_at=datetime.now(UTC)))
    assert cases.session(token) is None  # expired
    with pytest.raises(CaseError):
        cases.add_user("bob", "boss", ["*"], "long password 1")
    with pytest.raises(CaseError):
        cases.add_user("bob", "viewer", ["*"], "short")


def test_forget_erases_cases(db: str, store: SurveyStore, cases: CaseStore) -> None:
    admin = cases.add_user("ann", "admin", ["*"], "long password 1")
    answer(store, 1, overall=1, comment="Geheime klacht XYZZY")
    answer(store, 2, overall=1)
    first, second = cases.evaluate_new()
    cases.update(admin, first, note="Notitie over XYZZY")
    cases.update(admin, second, note="Andere klant")
    result = store.forget_customer("C1", actor="test")
    assert result.cases == 1
    assert [c.customer_id for c in cases.cases(admin)] == ["C2"]
    with store.engine.connect() as connection:
        notes = sa.select(sa.func.count()).select_from(m.case_notes)
        assert connection.execute(notes).scalar() == 1
        assert not connection.execute(
            sa.select(m.case_notes).where(m.case_notes.c.text.contains("XYZZY"))
        ).first()
    if not db.startswith("postgres"):
        store.engine.dispose()
        raw = Path(db).read_bytes() + (
            Path(db + "-wal").read_bytes() if Path(db + "-wal").exists() else b""
        )
        assert b"XYZZY" not in raw


def test_worker_opens_case_within_5_seconds(store: SurveyStore, cases: CaseStore) -> None:
    admin = cases.add_user("ann", "admin", ["*"], "long password 1")
    worker = AlertWorker(cases, interval=30)
    worker.start()
    try:
        assert worker.ready.wait(30)
        started = time.monotonic()
        answer(store, 1, overall=1)
        submitted = time.monotonic() - started
        while not cases.cases(admin) and time.monotonic() - started < 5:
            time.sleep(0.05)
        assert cases.cases(admin), "no case 5 s after the answer"
        assert submitted < 5
    finally:
        worker.stop()


def test_failing_listener_keeps_the_answer(store: SurveyStore) -> None:
    def broken(_response_id: int) -> None:
        raise RuntimeError("boom")

    store.listeners.append(broken)
    response_id = answer(store, 1)
    assert response_id > 0 and store.counts()["responses"] == 1


def test_real_scorer(store: SurveyStore) -> None:
    """The default comment scorer labels an angry ending negative and opens a case."""
    cases = CaseStore(store, [Rule(id="end", kind="negative_ending")])
    admin = cases.add_user("ann", "admin", ["*"], "long password 1")
    answer(store, 1, comment="Dank voor de snelle levering, alles was prima in orde.")
    answer(
        store,
        2,
        comment="De bezorger was vriendelijk. Maar het pakket was kapot en niemand "
        "hielp me, ik ben echt woedend en teleurgesteld.",
    )
    cases.evaluate_new()
    assert [c.customer_id for c in cases.cases(admin)] == ["C2"]


def test_median_interval_covers() -> None:
    """The order-statistic interval of the median covers the true median ≥ 95 % of the time."""
    rng = np.random.default_rng(3)
    true = 10 * math.log(2)  # median of an exponential with mean 10 (skewed, like delays)
    hits = 0
    for _ in range(1000):
        found = median_hours(list(rng.exponential(10, 25)))
        assert found is not None
        hits += found.low <= true <= found.high
    assert 0.94 <= hits / 1000 <= 0.995


def test_shared_endings_score_each_text_once() -> None:
    calls: list[list[str]] = []

    def scorer(texts: list[str]) -> list[str | None]:
        calls.append(texts)
        return fake_endings(texts)

    shared = SharedEndings(scorer, max_texts=2)
    assert shared(["boos", "fijn", "boos"]) == ["negative", "positive", "negative"]
    assert shared(["fijn", "boos"]) == ["positive", "negative"]
    assert calls == [["boos", "fijn"]] and shared.scored == 2
    shared(["nieuw"])  # the oldest label is dropped beyond max_texts
    assert shared.scored == 3 and shared(["boos"]) == ["negative"] and shared.scored == 4


def test_an_answer_committed_late_is_still_checked(store: SurveyStore, cases: CaseStore) -> None:
    """On PostgreSQL a transaction can take an id and commit after a later one."""
    admin = cases.add_user("ann", "admin", ["*"], "long password 1")
    late, early = store.invite([invitation_request(1), invitation_request(2)], actor="test")
    now = datetime.now(UTC)

    def stored(invitation_id: str, response_id: int) -> None:
        with store.engine.begin() as connection:
            connection.execute(
                m.responses.insert().values(
                    id=response_id,
                    invitation_id=invitation_id,
                    submitted_at=now,
                    lang="nl",
                    overall=1.0,
                    answers='{"overall": 1}',
                    digest="0" * 64,
                )
            )

    stored(early.id, 1000)
    assert len(cases.evaluate_new()) == 1
    stored(late.id, 500)  # took its id first, committed second
    assert len(cases.evaluate_new()) == 1
    assert cases.evaluate_new() == []
    assert sorted(c.customer_id for c in cases.cases(admin)) == ["C1", "C2"]
