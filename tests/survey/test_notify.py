"""Case notifications: the notify file, e-mail to a loopback SMTP server, signed webhooks
to a loopback receiver, retries with backoff, and nothing lost when a receiver fails."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from peakend.cases import CaseStore, Rule
from peakend.cases import outbox as ob
from peakend.cases.delivery import DeliveryWorker, sign
from peakend.cases.notify import NotifyConfig, parse_notify, read_notify
from peakend.errors import ConfigError
from peakend.survey import models as m
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, free_port, invitation_request

SECRET = "webhook secret 1"
RULES = [Rule(id="low", kind="score_at_most", cut=2, unit="logistics", owner="olga")]


class Mailbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


class Receiver:
    """A loopback HTTP receiver that fails its first ``fail`` requests with 503."""

    def __init__(self, fail: int = 0, port: int = 0) -> None:
        self.fail = fail
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = 503 if len(receiver.requests) <= receiver.fail else 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def receiver(fail: int = 0, port: int = 0) -> Iterator[Receiver]:
    found = Receiver(fail, port)
    try:
        yield found
    finally:
        found.close()


def config(smtp_port: int | None, url: str | None, **retry: float) -> NotifyConfig:
    data: dict[str, Any] = {"retry": {"backoff_s": 0.001, "timeout_s": 5, **retry}}
    if smtp_port is not None:
        data["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "from": "cx@example.com"}
        data["email"] = {"units": {"logistics": ["ops@example.com"]}, "owner": True}
    if url is not None:
        data["webhook"] = [{"url": url, "secret_env": "HOOK_SECRET"}]
    return parse_notify(data, "notify.toml", {"HOOK_SECRET": SECRET})


def low_answer(store: SurveyStore, n: int) -> int:
    invitation = store.invite([invitation_request(n)], actor="test")[0]
    return store.submit(invitation.token, {**ANSWERS, "overall": 1}).response_id


def rows(store: SurveyStore) -> list[Any]:
    with store.engine.connect() as connection:
        return list(
            connection.execute(sa.select(m.notifications).order_by(m.notifications.c.id)).all()
        )


def test_notify_file(tmp_path: Path) -> None:
    path = tmp_path / "notify.toml"
    path.write_text(
        '[smtp]\nhost = "mail.example.com"\nport = 587\nfrom = "cx@example.com"\n'
        'starttls = true\nuser = "cx"\npassword_env = "SMTP_PW"\n'
        '[email]\nevents = ["opened"]\n[email.units]\nlogistics = ["ops@example.com"]\n'
        '[[webhook]]\nurl = "https://hooks.example.com/x"\nsecret_env = "HOOK"\n'
        '[followup]\nquestionnaire = "followup"\n'
    )
    found = read_notify(path, {"SMTP_PW": "pw", "HOOK": "k"})
    assert found.smtp is not None and found.smtp.password == "pw" and found.smtp.starttls
    assert found.emails("opened") and not found.emails("closed")
    assert found.hooks("closed")[0].secret == "k"
    assert found.followup is not None and found.followup.field == "success"
    assert found.retry.wait_after(1) == 30 and found.retry.wait_after(3) == 120


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ('[smtp]\nhost = "h"\nfrom = "cx@example.com"\ncolour = 1\n', "unknown key"),
        ('[smtp]\nhost = "h"\nfrom = "nobody"\n', "not an e-mail address"),
        ('[smtp]\nhost = "h"\nport = "25"\nfrom = "a@b.cd"\n', "`port` must be"),
        ("[email]\nowner = true\n", "needs an [smtp] table"),
        ('[[webhook]]\nurl = "ftp://x"\nsecret_env = "HOOK"\n', "http:// or https://"),
        ('[[webhook]]\nurl = "http://x"\nsecret_env = "MISSING"\n', "MISSING, which is not set"),
        ('[[webhook]]\nurl = "http://x"\nsecret_env = "HOOK"\nevents = ["x"]\n', "`events`"),
        ("[retry]\nattempts = 0\n", "`attempts` must be"),
        ('[followup]\nquestionnaire = "f"\nfield = "mood"\n', "`field` must be one of"),
        ("[smtp", "not valid TOML"),
    ],
)
def test_bad_notify_file(tmp_path: Path, text: str, fix: str) -> None:
    path = tmp_path / "notify.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fix.replace("[", r"\[")):
        read_notify(path, {"HOOK": "k"})


def test_case_events_mail_and_webhook(store: SurveyStore, smtp: tuple[int, Mailbox]) -> None:
    port, box = smtp
    with receiver() as hook:
        cases = CaseStore(store, RULES, notify=config(port, hook.url), base_url="https://cx.nl")
        admin = cases.add_user("olga", "admin", ["*"], "long password 1", email="olga@example.nl")
        cases.add_user("piet", "case_owner", ["*"], "long password 2", email="piet@example.nl")
        low_answer(store, 1)
        (case_id,) = cases.evaluate_new()
        # Queued with the case, one row per address and webhook.
        assert sorted((r.channel, r.target) for r in rows(store)) == [
            ("email", "olga@example.nl"),
            ("email", "ops@example.com"),
            ("webhook", hook.url),
        ]
        worker = DeliveryWorker(store, cases.notify)  # type: ignore[arg-type]
        assert worker.deliver_due() == 3
        assert worker.deliver_due() == 0  # each delivered once
        cases.update(admin, case_id, owner="piet")
        cases.escalate_overdue(now=store_now() + timedelta(days=3))
        assert worker.deliver_due() > 0
    mails = {(tuple(to), msg["Subject"]) for to, msg in box.messages}
    assert ("ops@example.com",) in {to for to, _ in mails}
    subjects = sorted(s for _, s in mails)
    assert any(f"case {case_id} opened" in s for s in subjects)
    assert any(f"case {case_id} assigned" in s for s in subjects)
    assert any(f"case {case_id} escalated" in s for s in subjects)
    piet = [msg for to, msg in box.messages if to == ["piet@example.nl"]]
    assert piet and "https://cx.nl/dashboard/cases/" in piet[0].get_payload(decode=True).decode()
    events = [json.loads(body)["event"] for _, body in hook.requests]
    assert events == ["opened", "assigned", "escalated"]
    headers, body = hook.requests[0]
    stamp = headers["X-Peakend-Timestamp"]
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Peakend-Signature"] == f"sha256={digest}" == sign(SECRET, stamp, body)
    assert json.loads(body)["case"]["customer_id"] == "C1"
    assert "trigger" not in json.loads(body)["case"]  # the answers stay in the database


def store_now() -> datetime:
    return datetime.now(UTC)


def test_retries_with_backoff_then_delivers(store: SurveyStore) -> None:
    with receiver(fail=2) as hook:
        cases = CaseStore(store, RULES, notify=config(None, hook.url))
        low_answer(store, 1)
        cases.evaluate_new()
        worker = DeliveryWorker(store, cases.notify)  # type: ignore[arg-type]
        assert worker.deliver_due() == 0
        (row,) = rows(store)
        assert row.attempts == 1 and "503" in row.last_error and row.delivered_at is None
        for _ in range(50):
            if worker.deliver_due():
                break
        (row,) = rows(store)
        assert row.delivered_at is not None and row.attempts == 3
        ids = {headers["X-Peakend-Delivery"] for headers, _ in hook.requests}
        assert len(hook.requests) == 3 and len(ids) == 1  # the same delivery id each time


def test_backoff_waits(store: SurveyStore) -> None:
    with receiver(fail=10) as hook:
        cases = CaseStore(store, RULES, notify=config(None, hook.url, backoff_s=3600))
        low_answer(store, 1)
        cases.evaluate_new()
        worker = DeliveryWorker(store, cases.notify)  # type: ignore[arg-type]
        worker.deliver_due()
        worker.deliver_due()  # not due yet: an hour of backoff
        assert len(hook.requests) == 1


def test_gives_up_after_attempts(store: SurveyStore) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    cases = CaseStore(store, RULES, notify=config(None, url, attempts=2))
    low_answer(store, 1)
    cases.evaluate_new()
    worker = DeliveryWorker(store, cases.notify)  # type: ignore[arg-type]
    for _ in range(50):
        worker.deliver_due()
        if rows(store)[0].failed_at is not None:
            break
    (row,) = rows(store)
    assert row.failed_at is not None and row.attempts == 2 and row.delivered_at is None
    with store.engine.connect() as connection:
        assert ob.counts(connection) == {"delivered": 0, "waiting": 0, "given_up": 1}


def test_failing_receiver_loses_no_answer_or_case(store: SurveyStore) -> None:
    """Receivers down: answers and cases are stored; a later process delivers the queue."""
    url_port = free_port()
    url = f"http://127.0.0.1:{url_port}/hook"
    cases = CaseStore(store, RULES, notify=config(None, url))
    for n in range(5):
        low_answer(store, n)
    assert len(cases.evaluate_new()) == 5
    worker = DeliveryWorker(store, cases.notify)  # type: ignore[arg-type]
    assert worker.deliver_due() == 0
    with store.engine.connect() as connection:
        n_answers = connection.execute(sa.select(sa.func.count()).select_from(m.responses))
        assert n_answers.scalar() == 5
    # "Restart": a new worker on the same database, the receiver now up on that port.
    with store.engine.begin() as connection:
        connection.execute(m.notifications.update().values(next_at=store_now()))
    with receiver(port=url_port) as hook:
        again = DeliveryWorker(store, config(None, url))
        assert again.deliver_due() == 5
        assert len(hook.requests) == 5


def test_erasure_removes_queued_notifications(store: SurveyStore) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    cases = CaseStore(store, RULES, notify=config(None, url))
    low_answer(store, 1)
    low_answer(store, 2)
    cases.evaluate_new()
    assert len(rows(store)) == 2
    result = store.forget_customer("C1", actor="test")
    assert result.cases == 1
    left = rows(store)
    assert len(left) == 1 and json.loads(left[0].payload)["case"]["customer_id"] == "C2"


def test_user_email_is_checked(store: SurveyStore) -> None:
    from peakend.cases.errors import CaseError

    with pytest.raises(CaseError, match="not an e-mail address"):
        CaseStore(store).add_user("x", "viewer", ["*"], "long password 1", email="nope")


def followup_config(url: str) -> NotifyConfig:
    data = {
        "webhook": [{"url": url, "secret_env": "HOOK_SECRET"}],
        "followup": {"questionnaire": "followup"},
    }
    return parse_notify(data, "notify.toml", {"HOOK_SECRET": SECRET})


def test_closing_a_case_sends_a_followup(store: SurveyStore) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    cases = CaseStore(store, RULES, notify=followup_config(url), base_url="https://cx.nl")
    admin = cases.add_user("olga", "admin", ["*"], "long password 1")
    low_answer(store, 1)
    low_answer(store, 2)
    first, second = cases.evaluate_new()
    closed = cases.update(admin, first, status="closed", note="Called back, refund given.")
    assert closed.followup_invitation_id is not None
    assert cases.send_followups() == []  # never invited twice
    queued = [r for r in rows(store) if r.event == "followup"]
    assert len(queued) == 1
    link = json.loads(queued[0].payload)["followup_link"]
    assert link.startswith("https://cx.nl/s/")
    form = store.form(link.split("/s/")[1])
    assert form.questionnaire.id == "followup" and form.invitation.customer_id == "C1"
    assert cases.followups()[first].answered is False
    store.submit(link.split("/s/")[1], {"solved": "yes", "overall": 4})
    answer = cases.followups()[first]
    assert answer.answered and answer.value == 1 and answer.positive
    assert second not in cases.followups()  # still open: no follow-up


def test_missed_followup_is_sent_later(store: SurveyStore) -> None:
    """A case closed while the follow-up could not be sent is invited on the next pass."""
    plain = CaseStore(store, RULES)
    admin = plain.add_user("olga", "admin", ["*"], "long password 1")
    low_answer(store, 1)
    (case_id,) = plain.evaluate_new()
    plain.update(admin, case_id, status="closed")
    url = f"http://127.0.0.1:{free_port()}/hook"
    later = CaseStore(store, RULES, notify=followup_config(url))
    assert later.send_followups() == [case_id]
    assert later.followups()[case_id].invitation_id is not None


def test_followup_questionnaire_must_exist(store: SurveyStore) -> None:
    data = {"followup": {"questionnaire": "nope"}}
    with pytest.raises(ConfigError, match="questionnaire = 'nope' is not one of"):
        CaseStore(store, RULES, notify=parse_notify(data, "notify.toml", {}))


def test_example_notify_file() -> None:
    from .conftest import EXAMPLES

    found = read_notify(EXAMPLES.parent / "notify.toml", {"PEAKEND_WEBHOOK_SECRET": "k"})
    assert found.followup is not None and found.followup.questionnaire in {
        p.stem for p in EXAMPLES.iterdir()
    }
    assert found.email is not None and found.email.recipients("care")


def test_serve_delivers_case_events(
    store: SurveyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole service: an answer opens a case, the webhook hears of it (after a
    refused first delivery), closing it sends the follow-up link."""
    import time

    import httpx

    from peakend.dashboard.app import ServeSettings, create_serve_app
    from peakend.survey.app import SurveySettings

    from .conftest import EXAMPLES, served

    monkeypatch.setenv("HOOK_SECRET", SECRET)
    with receiver(fail=1) as hook:
        path = tmp_path / "notify.toml"
        path.write_text(
            f'[[webhook]]\nurl = "{hook.url}"\nsecret_env = "HOOK_SECRET"\n'
            '[retry]\nbackoff_s = 0.1\n[followup]\nquestionnaire = "followup"\n'
        )
        settings = ServeSettings(
            SurveySettings(db="unused", questionnaires=EXAMPLES), notify=path, alert_interval=0.2
        )
        app = create_serve_app(
            settings, store=store, rules=RULES, endings=lambda t: [None] * len(t)
        )
        key = {"Authorization": f"Bearer {store.add_api_key('test')}"}
        with served(app) as base:
            body = {
                "invitations": [
                    {"customer_id": "K1", "journey_id": "R1", "touchpoint": "delivery",
                     "ts": "2026-12-01T10:00:00+00:00"}
                ]
            }  # fmt: skip
            (link,) = httpx.post(f"{base}/api/v1/invitations", json=body, headers=key).json()[
                "data"
            ]
            answer = {**ANSWERS, "overall": 1}
            sent = httpx.post(
                f"{base}/api/v1/forms/{link['token']}/responses", json={"answers": answer}
            )
            assert sent.status_code == 201  # the refused webhook does not touch the answer

            def events() -> list[str]:
                return [json.loads(b)["event"] for h, b in hook.requests if h]

            deadline = time.monotonic() + 30
            while "opened" not in events()[1:] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert events()[:2] == ["opened", "opened"]  # refused once, then delivered
            case_id = json.loads(hook.requests[-1][1])["case"]["id"]
            closed = httpx.post(
                f"{base}/api/v1/cases/{case_id}", json={"status": "closed"}, headers=key
            )
            assert closed.status_code == 200
            while "followup" not in events() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert events()[2:] == ["closed", "followup"]
            found = httpx.get(f"{base}/api/v1/cases/{case_id}", headers=key).json()["data"]
            assert found["followup"]["answered"] is False


def test_cli_escalate_queues_notifications(store: SurveyStore, db: str, tmp_path: Path) -> None:
    """`cases escalate --notify` queues the webhooks for serve to deliver."""
    from typer.testing import CliRunner

    from peakend.cli import app

    if db.startswith("postgresql"):
        pytest.skip("the command is the same on both databases; run once")
    low_answer(store, 1)
    CaseStore(store, RULES).evaluate_new()
    with store.engine.begin() as connection:
        connection.execute(m.cases.update().values(due_at=store_now() - timedelta(hours=1)))
    path = tmp_path / "notify.toml"
    path.write_text('[[webhook]]\nurl = "http://127.0.0.1:9/x"\nsecret_env = "HOOK_SECRET"\n')
    result = CliRunner().invoke(
        app,
        ["cases", "escalate", "--db", db, "--notify", str(path)],
        env={"HOOK_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.output
    assert [r.event for r in rows(store)] == ["escalated"]
