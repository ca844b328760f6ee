"""The scheduled summary: page 1 of a dataset's report, mailed as a PDF to executives.

Why page 1 of the report: it is the page written for someone with two minutes
(the executive summary, the moment matrix, the remembered journey, the hidden
moments and the top of the focus plan, with the data behind it in one line),
typeset by the report's own Typst template, so the mail says exactly what
``peakend analyze`` says. The live survey figures change by the minute and are
one click away on the dashboard; the report's figures are the ones a CX
director acts on and forwards.

The ``[summary]`` table of the notify file (:class:`~peakend.cases.notify.SummarySchedule`)
says when and to whom. The next due time is kept in the database
(``survey_meta``), together with the schedule it was computed for, so:

* a restart keeps the schedule, and a changed schedule starts afresh;
* a run missed while the service was stopped is sent once on the next start
  (the next due time is computed from *now*, not from the missed one);
* two processes never send the same run: the mails are queued in the same
  transaction that moves the stored due time on, and only if it still holds
  the value read before the PDF was built (compare and swap).

The mails go through the outbox (:mod:`peakend.cases.outbox`): one row per
recipient, delivered with retries by the delivery thread, never in a request.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peakend.cases.notify import DAYS, SummarySchedule
from peakend.survey import models as m
from peakend.survey.store import SurveyStore

log = logging.getLogger("peakend.notify")
META_KEY = "summary_schedule"
SUMMARY_EVENT = "summary"
FAILURE_BACKOFF_S = 600.0
MAX_BACKOFF_S = 6 * 3600.0


@dataclass(frozen=True)
class SummaryMail:
    """One summary: the mail's subject and text, and the PDF attached to it."""

    subject: str
    text: str
    filename: str
    pdf: bytes
    headline: str

    def payload(self, due: datetime | None) -> str:
        """The outbox body: everything the delivery thread needs to send it."""
        return json.dumps(
            {
                "event": SUMMARY_EVENT,
                "subject": self.subject,
                "text": self.text,
                "filename": self.filename,
                "pdf": base64.b64encode(self.pdf).decode("ascii"),
                "due": due.isoformat() if due else None,
            },
            ensure_ascii=False,
        )


# --- when ---------------------------------------------------------------------------------


def next_run(schedule: SummarySchedule, after: datetime) -> datetime:
    """The first time strictly after ``after`` when the summary is due (UTC)."""
    zone = ZoneInfo(schedule.timezone)
    local = after.astimezone(zone)
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        if schedule.every == "weekly" and DAYS[day.weekday()] != schedule.day:
            continue
        candidate = datetime.combine(day, schedule.at, tzinfo=zone).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a daily or weekly schedule is due within 8 days")  # pragma: no cover


def _stored(connection: Connection) -> str | None:
    meta = m.survey_meta
    found = connection.execute(sa.select(meta.c.value).where(meta.c.key == META_KEY)).scalar()
    return str(found) if found is not None else None


def _value(schedule: SummarySchedule, next_at: datetime) -> str:
    return json.dumps({"schedule": schedule.describe(), "next_at": next_at.isoformat()})


def due_run(
    store: SurveyStore, schedule: SummarySchedule, now: datetime
) -> tuple[datetime, str] | None:
    """The due time and stored value when a summary is due at ``now``, else None.

    Without a stored due time, or with one computed for another schedule, the
    next due time is stored (nothing is due yet).
    """
    with store.engine.connect() as connection:
        stored = _stored(connection)
    if stored is not None:
        data = json.loads(stored)
        if data.get("schedule") == schedule.describe():
            due = datetime.fromisoformat(data["next_at"])
            return (due, stored) if due <= now else None
    try:
        with store.write() as connection:
            _put(connection, stored, _value(schedule, next_run(schedule, now)))
    except sa.exc.IntegrityError:
        pass  # another process stored it first
    return None


def _put(connection: Connection, old: str | None, new: str) -> bool:
    """Replace the stored value ``old`` by ``new``; False when it is no longer ``old``."""
    meta = m.survey_meta
    if old is None:  # a race with another process raises IntegrityError
        connection.execute(meta.insert().values(key=META_KEY, value=new))
        return True
    done = connection.execute(
        meta.update().where(meta.c.key == META_KEY, meta.c.value == old).values(value=new)
    )
    return bool(done.rowcount == 1)


def next_due(store: SurveyStore, schedule: SummarySchedule) -> datetime | None:
    """The stored next due time (None before the first start with this schedule)."""
    with store.engine.connect() as connection:
        stored = _stored(connection)
    if stored is None:
        return None
    data = json.loads(stored)
    if data.get("schedule") != schedule.describe():
        return None
    return datetime.fromisoformat(data["next_at"])


# --- what ---------------------------------------------------------------------------------


def build_summary(schedule: SummarySchedule, *, now: datetime | None = None) -> SummaryMail:
    """Load the dataset, build its report and typeset page 1 (seconds to a minute)."""
    from peakend import __version__
    from peakend.load import load
    from peakend.report.build import build_report, pdf_content
    from peakend.report.pdf import first_page_pdf

    report = build_report(load(schedule.dataset), lang=schedule.language)
    pdf = first_page_pdf(pdf_content(report, __version__), report.sections)
    day = (now or report.generated_at).strftime("%Y-%m-%d")
    headline = report.summary[0] if report.summary else report.data_line
    lines = [
        f"Summary of {report.dataset}, {day}: {report.n_journeys:,} journeys, "
        f"{report.n_events:,} events.",
        "",
        *(f"{i}. {sentence}" for i, sentence in enumerate(report.summary, 1)),
        "",
        report.data_line,
        "",
        "The first page of the report is attached; the whole report: peakend analyze "
        f"{schedule.dataset.name}.",
        f"Schedule: {schedule.describe()}.",
    ]
    return SummaryMail(
        subject=f"[peakend] summary of {report.dataset}, {day}",
        text="\n".join(lines),
        filename=f"peakend-summary-{report.dataset}-{day}.pdf",
        pdf=pdf,
        headline=headline,
    )


def enqueue_summary(
    connection: Connection,
    schedule: SummarySchedule,
    mail: SummaryMail,
    due: datetime | None = None,
) -> list[int]:
    """Queue one e-mail per recipient in the outbox; returns the notification ids."""
    now = datetime.now(UTC)
    body = mail.payload(due)
    ids = []
    for address in schedule.recipients:
        done = connection.execute(
            m.notifications.insert().values(
                case_id=None,
                channel="email",
                target=address,
                event=SUMMARY_EVENT,
                payload=body,
                created_at=now,
                next_at=now,
                attempts=0,
            )
        )
        key = done.inserted_primary_key
        assert key is not None
        ids.append(int(key[0]))
    return ids


def send_if_due(
    store: SurveyStore, schedule: SummarySchedule, *, now: datetime | None = None
) -> list[int]:
    """Queue the summary when it is due; returns the queued notification ids (none if not due).

    The PDF is built outside any transaction; the mails are queued only if the
    stored due time is still the one read before (another process did not send
    this run meanwhile), in the same transaction that moves it on.
    """
    now = now or datetime.now(UTC)
    found = due_run(store, schedule, now)
    if found is None:
        return []
    due, stored = found
    mail = build_summary(schedule, now=now)
    with store.write() as connection:
        if not _put(connection, stored, _value(schedule, next_run(schedule, now))):
            return []
        ids = enqueue_summary(connection, schedule, mail, due)
        store.audit(connection, "summary", "summary", f"queued for {len(ids)} recipient(s)")
    log.info("summary due %s queued for %d recipient(s)", due.isoformat(), len(ids))
    return ids


class SummaryWorker:
    """Checks every ``interval`` seconds whether the summary is due, and queues it.

    A summary that cannot be built (the dataset's file is gone, say) is logged
    and tried again after a backoff (10 minutes, doubled up to 6 hours), so a
    broken dataset does not rebuild a report every minute.
    """

    def __init__(
        self,
        store: SurveyStore,
        schedule: SummarySchedule,
        *,
        interval: float = 60.0,
        on_queue: list[Callable[[], None]] | None = None,
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.interval = interval
        self.on_queue = list(on_queue or [])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="peakend-summary", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            wait = self.interval
            try:
                ids = send_if_due(self.store, self.schedule)
                failures = 0
            except Exception:
                failures += 1
                wait = max(wait, min(FAILURE_BACKOFF_S * 2 ** (failures - 1), MAX_BACKOFF_S))
                log.exception("the summary could not be built; trying again in %.0f s", wait)
                ids = []
            if ids:
                for listener in self.on_queue:
                    listener()
            self._stop.wait(wait)
