"""The scheduled PDF summary: the [summary] table, the schedule kept in the database,
a missed run sent once, and the mail with page 1 of the report as a PDF attachment."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from peakend.cases import summary as sm
from peakend.cases.delivery import DeliveryWorker
from peakend.cases.notify import NotifyConfig, SummarySchedule, parse_notify
from peakend.errors import ConfigError
from peakend.survey import models as m
from peakend.survey.store import SurveyStore

from .test_notify import Mailbox, smtp  # noqa: F401  (the loopback SMTP server fixture)

RECIPIENTS = ["director@example.com", "cx-team@example.com"]


@pytest.fixture(scope="module")
def demo_spec() -> Path:
    from peakend.datasets import demo_spec_path

    return demo_spec_path()


def notify_data(port: int, spec: Path, **summary: Any) -> dict[str, Any]:
    return {
        "smtp": {"host": "127.0.0.1", "port": port, "from": "cx@example.com"},
        "retry": {"backoff_s": 0.001, "timeout_s": 5},
        "summary": {
            "every": "daily",
            "at": "08:00",
            "recipients": RECIPIENTS,
            "dataset": str(spec),
            **summary,
        },
    }


def config(port: int, spec: Path, **summary: Any) -> NotifyConfig:
    return parse_notify(notify_data(port, spec, **summary), "notify.toml", {})


@pytest.fixture(scope="module")
def mail(demo_spec: Path) -> sm.SummaryMail:
    """One real summary of the demo dataset (built once: it takes seconds)."""
    schedule = config(25, demo_spec).summary
    assert schedule is not None
    return sm.build_summary(schedule)


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1  # page 1 of the report, alone
    return reader.pages[0].extract_text()


def squeeze(text: str) -> str:
    """Text without white space (the PDF breaks lines where the mail does not)."""
    return re.sub(r"\s+", "", text.replace("\u00a0", " "))


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ({"every": "monthly"}, '`every` is "daily" or "weekly"'),
        ({"at": "8am"}, "`at` is a time of day"),
        ({"recipients": []}, "`recipients` is a list of addresses"),
        ({"recipients": ["boss"]}, "not an e-mail address"),
        ({"dataset": "nowhere.toml"}, "`dataset` 'nowhere.toml' is not a file"),
        ({"timezone": "Mars/Base"}, "`timezone` 'Mars/Base' is unknown"),
        ({"language": "fr"}, "`language` is one of en, nl"),
        ({"day": "monday"}, '`day` is for every = "weekly"'),
        ({"every": "weekly", "day": "someday"}, "`day` is a day of the week"),
        ({"often": True}, "unknown key(s) often"),
    ],
)
def test_summary_table_errors_name_the_key(
    summary: dict[str, Any], message: str, demo_spec: Path
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        config(25, demo_spec, **summary)
    assert "[summary]" in str(raised.value)


def test_summary_needs_smtp(demo_spec: Path) -> None:
    data = notify_data(25, demo_spec)
    del data["smtp"]
    with pytest.raises(ConfigError, match=r"\[summary\] is mailed; add an \[smtp\] table"):
        parse_notify(data, "notify.toml", {})


def test_dataset_is_read_relative_to_the_notify_file(tmp_path: Path, demo_spec: Path) -> None:
    from peakend.cases.notify import read_notify

    (tmp_path / "journeys.toml").write_text(demo_spec.read_text(encoding="utf-8"))
    (tmp_path / "notify.toml").write_text(
        '[smtp]\nhost = "127.0.0.1"\nfrom = "cx@example.com"\n'
        '[summary]\nevery = "weekly"\nday = "Friday"\nat = "17:30"\n'
        'timezone = "Europe/Amsterdam"\nrecipients = "boss@example.com"\n'
        'dataset = "journeys.toml"\nlanguage = "nl"\n',
        encoding="utf-8",
    )
    found = read_notify(tmp_path / "notify.toml").summary
    assert found is not None
    assert found.dataset == tmp_path / "journeys.toml"
    assert (found.every, found.day, found.at, found.language) == (
        "weekly",
        "friday",
        time(17, 30),
        "nl",
    )
    assert found.recipients == ("boss@example.com",)
    assert found.describe() == "weekly on friday at 17:30 Europe/Amsterdam"


def test_next_run_daily_weekly_and_local_time(demo_spec: Path) -> None:
    daily = SummarySchedule("daily", time(8, 0), ("a@example.com",), demo_spec)
    at = datetime(2026, 12, 4, 7, 59, tzinfo=UTC)
    assert sm.next_run(daily, at) == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert sm.next_run(daily, at.replace(hour=8)) == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    weekly = SummarySchedule(
        "weekly",
        time(8, 0),
        ("a@example.com",),
        demo_spec,
        day="monday",
        timezone="Europe/Amsterdam",
    )
    # Friday 4 December 2026 → Monday 7 December, 08:00 in Amsterdam is 07:00 UTC (winter) …
    assert sm.next_run(weekly, at) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    # … and 06:00 UTC in summer time.
    summer = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)  # a Tuesday
    assert sm.next_run(weekly, summer) == datetime(2026, 7, 6, 6, 0, tzinfo=UTC)


@pytest.fixture
def prebuilt(monkeypatch: pytest.MonkeyPatch, mail: sm.SummaryMail) -> Iterator[list[int]]:
    """``build_summary`` returns the summary built once above; counts the builds."""
    builds: list[int] = []

    def build(schedule: SummarySchedule, *, now: datetime | None = None) -> sm.SummaryMail:
        builds.append(1)
        return mail

    monkeypatch.setattr(sm, "build_summary", build)
    yield builds


def summary_rows(store: SurveyStore) -> list[Any]:
    n = m.notifications
    with store.engine.connect() as connection:
        return list(connection.execute(sa.select(n).where(n.c.event == "summary")).all())


def test_a_run_due_twice_while_stopped_is_sent_once(
    store: SurveyStore,
    smtp: tuple[int, Mailbox],  # noqa: F811
    demo_spec: Path,
    prebuilt: list[int],
    mail: sm.SummaryMail,
) -> None:
    port, box = smtp
    notify = config(port, demo_spec)
    schedule = notify.summary
    assert schedule is not None
    start = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    # First start: the next due time is stored, nothing is sent.
    assert sm.send_if_due(store, schedule, now=start) == []
    assert sm.next_due(store, schedule) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    # Stopped for two days and a bit: the runs of 1 and 2 December were missed.
    later = start + timedelta(days=2, hours=2)
    ids = sm.send_if_due(store, schedule, now=later)
    assert len(ids) == len(RECIPIENTS)
    assert sm.send_if_due(store, schedule, now=later + timedelta(minutes=1)) == []
    assert prebuilt == [1]  # built once, for the one run sent
    assert sm.next_due(store, schedule) == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    # A restart reads the stored schedule: still nothing due before 4 December 08:00.
    again = SurveyStore(store.engine, {})
    assert sm.send_if_due(again, schedule, now=later + timedelta(hours=5)) == []
    assert len(summary_rows(store)) == len(RECIPIENTS)

    assert DeliveryWorker(store, notify).deliver_due() == len(RECIPIENTS)
    assert sorted(r for rcpt, _ in box.messages for r in rcpt) == sorted(RECIPIENTS)
    _, message = box.messages[0]
    assert message["Subject"] == mail.subject
    attachments = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert len(attachments) == 1
    assert attachments[0].get_filename() == mail.filename
    text = pdf_text(attachments[0].get_payload(decode=True))
    assert mail.headline and squeeze(mail.headline) in squeeze(text)
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert mail.headline in body.get_payload(decode=True).decode("utf-8")


def test_a_changed_schedule_starts_afresh_and_a_stale_claim_sends_nothing(
    store: SurveyStore, demo_spec: Path, prebuilt: list[int]
) -> None:
    daily = config(25, demo_spec).summary
    weekly = config(25, demo_spec, every="weekly", day="friday").summary
    assert daily is not None and weekly is not None
    now = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # a Tuesday
    sm.send_if_due(store, daily, now=now)
    assert sm.send_if_due(store, weekly, now=now + timedelta(days=1)) == []
    assert sm.next_due(store, weekly) == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert sm.next_due(store, daily) is None
    # Two processes find the run due; the one that queues second finds the due time moved on.
    due = now + timedelta(days=4)
    first = sm.due_run(store, weekly, due)
    assert first is not None
    assert len(sm.send_if_due(store, weekly, now=due)) == len(RECIPIENTS)
    with store.write() as connection:
        assert not sm._put(connection, first[1], "{}")
    assert len(summary_rows(store)) == len(RECIPIENTS)


def test_summary_send_command(
    tmp_path: Path,
    smtp: tuple[int, Mailbox],  # noqa: F811
    demo_spec: Path,
) -> None:
    from peakend.cli import app

    port, box = smtp
    notify = tmp_path / "notify.toml"
    notify.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "cx@example.com"\n'
        f'[summary]\nevery = "weekly"\nat = "08:00"\nrecipients = ["director@example.com"]\n'
        f"dataset = {str(demo_spec)!r}\n",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'survey.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["survey", "init", "--db", db]).exit_code == 0
    done = runner.invoke(app, ["summary", "send", "--db", db, "--notify", str(notify)])
    assert done.exit_code == 0, done.output
    assert "sent to 1 of 1 recipient(s)" in done.output
    assert "schedule: weekly on monday at 08:00 UTC" in done.output
    assert len(box.messages) == 1
    _, message = box.messages[0]
    pdf = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    assert "Executive summary" in pdf_text(pdf.get_payload(decode=True))


def test_serve_runs_the_schedule_with_a_summary_table(store: SurveyStore, demo_spec: Path) -> None:
    from peakend.dashboard.app import ServeSettings, create_serve_app
    from peakend.survey.app import SurveySettings

    from .conftest import EXAMPLES

    settings = ServeSettings(SurveySettings(db="unused", questionnaires=EXAMPLES))
    app = create_serve_app(settings, store=store, notify=config(25, demo_spec))
    assert app.state.summary is not None and app.state.delivery is not None
    assert app.state.summary.on_queue == [app.state.delivery.wake]
    plain = create_serve_app(settings, store=store)
    assert plain.state.summary is None
