"""The notification outbox: case events queued in the database, delivered later.

A case change writes its e-mails and webhooks into ``notifications`` in the
same transaction as the change itself, so a notification exists exactly when
the change does, and a stopped service or a receiver that is down loses nothing.
The delivery thread (:mod:`peakend.cases.delivery`) claims due rows with a lease
(``next_at`` moved forward before sending, so two processes do not send the same
row at once), sends them, and marks each delivered, or due again after a backoff,
or given up after the configured number of attempts. Delivery is at least once:
a process that stops between sending and marking sends again after the lease;
receivers can drop repeats by the ``X-Peakend-Delivery`` id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peakend.cases.notify import NotifyConfig
from peakend.survey import models as m

CASE_FIELDS = (
    "id",
    "rule",
    "reason",
    "customer_id",
    "journey_id",
    "touchpoint",
    "unit",
    "owner",
    "status",
    "opened_at",
    "due_at",
    "closed_at",
    "root_cause",
)
"""What a notification says about a case (not the triggering answers or comment)."""
LEASE_S = 60.0


@dataclass(frozen=True)
class Pending:
    """One notification to send."""

    id: int
    case_id: int | None
    channel: str
    target: str
    event: str
    payload: str
    attempts: int


def _now() -> datetime:
    return datetime.now(UTC)


def case_payload(event: str, case: Any, base_url: str = "") -> dict[str, Any]:
    """The JSON body of a notification about ``case`` (a row or :class:`Case`)."""
    values = {k: getattr(case, k, None) for k in CASE_FIELDS}
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    link = f"{base_url.rstrip('/')}/dashboard/cases/{case.id}" if base_url else None
    return {"event": event, "case": values, "link": link}


def enqueue(
    connection: Connection,
    config: NotifyConfig,
    event: str,
    case: Any,
    base_url: str = "",
    *,
    extra: dict[str, Any] | None = None,
) -> int:
    """Queue the notifications of ``event`` on ``case``; returns how many were queued.

    ``extra`` is added to the JSON body (the follow-up link of a ``followup`` event).
    """
    payload = {**case_payload(event, case, base_url), **(extra or {})}
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    targets: list[tuple[str, str]] = [("webhook", h.url) for h in config.hooks(event)]
    if config.emails(event) and config.email is not None:
        addresses = list(config.email.recipients(str(case.unit)))
        if config.email.owner and case.owner:
            found = connection.execute(
                sa.select(m.users.c.email).where(m.users.c.name == case.owner)
            ).scalar()
            if found:
                addresses.append(str(found))
        targets += [("email", a) for a in dict.fromkeys(addresses)]
    if not targets:
        return 0
    now = _now()
    connection.execute(
        m.notifications.insert(),
        [
            {
                "case_id": case.id,
                "channel": channel,
                "target": target,
                "event": event,
                "payload": body,
                "created_at": now,
                "next_at": now,
                "attempts": 0,
            }
            for channel, target in targets
        ],
    )
    return len(targets)


def claim(
    connection: Connection,
    limit: int = 50,
    lease_s: float = LEASE_S,
    ids: list[int] | None = None,
) -> list[Pending]:
    """Due notifications (only those of ``ids`` when given), leased for ``lease_s``
    seconds (inside a write transaction)."""
    n = m.notifications
    now = _now()
    due = sa.and_(n.c.delivered_at.is_(None), n.c.failed_at.is_(None), n.c.next_at <= now)
    if ids is not None:
        due = sa.and_(due, n.c.id.in_(ids))
    rows = connection.execute(sa.select(n).where(due).order_by(n.c.id).limit(limit)).all()
    if rows:
        connection.execute(
            n.update()
            .where(n.c.id.in_([r.id for r in rows]))
            .values(next_at=now + timedelta(seconds=lease_s))
        )
    return [
        Pending(r.id, r.case_id, r.channel, r.target, r.event, r.payload, r.attempts) for r in rows
    ]


def delivered(connection: Connection, pending: Pending) -> None:
    n = m.notifications
    connection.execute(
        n.update()
        .where(n.c.id == pending.id)
        .values(delivered_at=_now(), attempts=pending.attempts + 1, last_error=None)
    )


def failed(
    connection: Connection, pending: Pending, error: str, *, wait_s: float, give_up: bool
) -> None:
    """Record a failed attempt: due again after ``wait_s``, or given up."""
    n = m.notifications
    now = _now()
    connection.execute(
        n.update()
        .where(n.c.id == pending.id)
        .values(
            attempts=pending.attempts + 1,
            last_error=error[:1000],
            next_at=now + timedelta(seconds=wait_s),
            failed_at=now if give_up else None,
        )
    )


def counts(connection: Connection) -> dict[str, int]:
    """How many notifications are delivered, waiting and given up."""
    n = m.notifications
    rows = connection.execute(
        sa.select(
            sa.func.count().filter(n.c.delivered_at.is_not(None)),
            sa.func.count().filter(n.c.delivered_at.is_(None), n.c.failed_at.is_(None)),
            sa.func.count().filter(n.c.failed_at.is_not(None)),
        )
    ).one()
    return {"delivered": int(rows[0]), "waiting": int(rows[1]), "given_up": int(rows[2])}
