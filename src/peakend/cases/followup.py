"""The follow-up question when a case closes: "was your problem solved?".

When the notify file has a ``[followup]`` table, closing a case invites the
customer to that questionnaire through the survey's own machinery (a signed,
single-use, expiring link; :meth:`~peakend.survey.store.SurveyStore.invite`),
for the case's journey at the closing time, so the same case never invites
twice. The invitation's id is kept on the case (``followup_invitation_id``), so
the answer is linked to the case, and a ``followup`` notification carrying the
link is queued for the webhooks, which hand it to whatever sends messages to
customers (peakend does not know customers' addresses).

A closed case whose invitation is missing (the process stopped between closing
and inviting) is picked up by :func:`send_followups`, which the alert thread of
``peakend serve`` runs on every pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from peakend.cases import outbox
from peakend.cases.notify import Followup, NotifyConfig
from peakend.survey import models as m
from peakend.survey.store import InvitationRequest, SurveyStore

CATCH_UP_DAYS = 7.0
"""Cases closed longer ago than this get no follow-up when it was missed."""


@dataclass(frozen=True)
class FollowupAnswer:
    """A case's follow-up: sent or not, answered or not, and whether the answer was positive."""

    case_id: int
    invitation_id: str | None
    answered: bool
    value: float | None
    positive: bool | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def link(base_url: str, token: str) -> str:
    """The customer's form link (as the survey's invitation API gives it)."""
    return f"{base_url.rstrip('/')}/s/{token}"


def send_followups(
    survey: SurveyStore,
    config: NotifyConfig,
    *,
    base_url: str = "",
    case_ids: list[int] | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Invite the customers of closed cases without a follow-up; returns the case ids.

    ``case_ids`` limits it to those cases (a case just closed); otherwise every
    case closed within :data:`CATCH_UP_DAYS` without an invitation is done.
    """
    if config.followup is None:
        return []
    followup = config.followup
    now = now or datetime.now(UTC)
    c = m.cases
    query = sa.select(c).where(
        c.c.status == "closed",
        c.c.followup_invitation_id.is_(None),
        c.c.closed_at >= now - timedelta(days=CATCH_UP_DAYS),
    )
    if case_ids is not None:
        query = query.where(c.c.id.in_(case_ids))
    with survey.engine.connect() as connection:
        closed = connection.execute(query).all()
    done = []
    for case in closed:
        request = InvitationRequest(
            customer_id=case.customer_id,
            journey_id=case.journey_id,
            touchpoint=survey.questionnaires[followup.questionnaire].touchpoint,
            ts=_utc(case.closed_at),
            questionnaire=followup.questionnaire,
        )
        (invitation,) = survey.invite([request], actor=f"case:{case.id}")
        with survey.write() as connection:
            updated = connection.execute(
                c.update()
                .where(c.c.id == case.id, c.c.followup_invitation_id.is_(None))
                .values(followup_invitation_id=invitation.id)
            ).rowcount
            if updated:
                row = connection.execute(sa.select(c).where(c.c.id == case.id)).one()
                extra = {"followup_link": link(base_url, invitation.token)}
                outbox.enqueue(connection, config, "followup", row, base_url, extra=extra)
                survey.audit(connection, "rules", "followup", f"case {case.id}")
        if updated:
            done.append(int(case.id))
    return done


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def followup_answers(
    survey: SurveyStore, followup: Followup, case_ids: list[int] | None = None
) -> dict[int, FollowupAnswer]:
    """The follow-up of every case that has one (answer value and whether it is positive)."""
    c, r = m.cases, m.responses
    column = r.c[followup.field]
    query = (
        sa.select(c.c.id, c.c.followup_invitation_id, r.c.id.label("response_id"), column)
        .select_from(c.outerjoin(r, r.c.invitation_id == c.c.followup_invitation_id))
        .where(c.c.followup_invitation_id.is_not(None))
    )
    if case_ids is not None:
        query = query.where(c.c.id.in_(case_ids))
    with survey.engine.connect() as connection:
        rows = connection.execute(query).all()
    out = {}
    for row in rows:
        value = row[3]
        number = None if value is None or math.isnan(float(value)) else float(value)
        positive = None if number is None else number >= followup.positive_at_least
        out[int(row.id)] = FollowupAnswer(
            int(row.id), row.followup_invitation_id, row.response_id is not None, number, positive
        )
    return out
