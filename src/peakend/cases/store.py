"""Cases and dashboard users in the survey database.

:class:`CaseStore` sits on a :class:`~peakend.survey.store.SurveyStore` and shares
its database, write lock and audit log. It

* evaluates the alert rules on answers not looked at yet (:meth:`CaseStore.evaluate_new`;
  a row per checked answer in ``alert_checks`` and a unique key per rule and
  answer make it safe to run in several processes at once, and an answer whose
  transaction commits after a later one's is still checked),
* keeps cases (open → in_progress → closed, escalated when overdue) and notes,
  with every change and every view of a case in the audit log,
* keeps users (roles limited to units) and their login sessions.

Every read of cases takes the user and returns only the units the user may see;
a case in another unit is reported as missing (404), never as forbidden, so ids
say nothing about other units.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from peakend.cases import outbox
from peakend.cases.auth import (
    DUMMY_HASH,
    MIN_PASSWORD,
    ROLES,
    WRITERS,
    check_password,
    hash_password,
    new_token,
    token_hash,
)
from peakend.cases.errors import CaseError, CaseNotFoundError, ForbiddenError
from peakend.cases.followup import FollowupAnswer, followup_answers, send_followups
from peakend.cases.notify import NotifyConfig
from peakend.cases.rules import Rule
from peakend.errors import ConfigError
from peakend.survey import models as m
from peakend.survey.errors import AccessError
from peakend.survey.store import MAX_FIELD_CHARS, SurveyStore

log = logging.getLogger("peakend.cases")
STATUSES = ("open", "in_progress", "escalated", "closed")
BATCH = 500
LOOKBACK = 10_000
"""Answers are looked for from this many ids below the newest checked one: room
for transactions that took an id earlier but committed later."""
SESSION_HOURS = 12.0
MAX_NOTE_CHARS = 5000
Endings = Callable[[list[str]], list[str | None]]
"""Labels how each comment ends: negative, neutral, positive, undecided or None."""


def default_endings(texts: list[str]) -> list[str | None]:
    """How each comment ends, by peakend's default comment scorer."""
    from peakend.text.scoring import default_scores  # loads a model: only when needed

    return [c.end_class for c in default_scores(texts).comments]


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class User:
    """A dashboard user: a role and the units whose cases it may see."""

    name: str
    role: str
    units: tuple[str, ...]

    @property
    def all_units(self) -> bool:
        return self.role == "admin" or "*" in self.units

    def sees(self, unit: str) -> bool:
        return self.all_units or unit in self.units

    @property
    def can_work(self) -> bool:
        """Whether the user may change cases (admins and case owners)."""
        return self.role in WRITERS

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "units": list(self.units)}


@dataclass(frozen=True)
class Case:
    """A case opened by an alert rule on an answer."""

    id: int
    rule: str
    reason: str
    customer_id: str
    journey_id: str
    touchpoint: str
    questionnaire: str
    unit: str
    owner: str | None
    status: str
    trigger: dict[str, Any]
    opened_at: datetime
    due_at: datetime
    first_response_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    root_cause: str | None
    followup_invitation_id: str | None = None
    """The follow-up invitation sent to the customer when the case closed."""

    def overdue(self, now: datetime) -> bool:
        return self.status != "closed" and self.due_at < now

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


@dataclass(frozen=True)
class CaseTimes:
    """What the case report needs of a case: its status and times (no personal data)."""

    status: str
    opened_at: datetime
    due_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.status != "closed" and self.due_at < now


@dataclass(frozen=True)
class Note:
    author: str
    ts: datetime
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"author": self.author, "ts": self.ts.isoformat(), "text": self.text}


def _case(row: Any) -> Case:
    values = dict(row._mapping)
    values["trigger"] = json.loads(values["trigger"])
    for key in ("opened_at", "due_at", "first_response_at", "escalated_at", "closed_at"):
        values[key] = _utc(values[key])
    values.pop("response_id", None)
    return Case(**values)


_NEW_ANSWERS = (
    sa.select(
        m.responses.c.id,
        m.responses.c.submitted_at,
        m.responses.c.overall,
        m.responses.c.success,
        m.responses.c.effort,
        m.responses.c.emotion,
        m.responses.c.comment,
        m.responses.c.answers,
        m.invitations.c.customer_id,
        m.invitations.c.journey_id,
        m.invitations.c.touchpoint,
        m.invitations.c.questionnaire,
    )
    .join(m.invitations, m.invitations.c.id == m.responses.c.invitation_id)
    .where(
        m.responses.c.id > sa.bindparam("after"),
        ~sa.exists().where(m.alert_checks.c.response_id == m.responses.c.id),
    )
    .order_by(m.responses.c.id)
    .limit(BATCH)
)


class CaseStore:
    """Cases, notes, users and sessions next to the survey's answers.

    Parameters
    ----------
    survey
        The survey store (same database; schema at migration 0004 or later).
    rules
        The alert rules (:func:`~peakend.cases.rules.read_rules`).
    endings
        Labels how comments end; the default comment scorer unless given.
    notify
        Who hears about case events (:func:`~peakend.cases.notify.read_notify`):
        each event queues its e-mails and webhooks in the same transaction.
    base_url
        The service's public address, for links in notifications and follow-ups.
    """

    def __init__(
        self,
        survey: SurveyStore,
        rules: Sequence[Rule] = (),
        *,
        endings: Endings | None = None,
        notify: NotifyConfig | None = None,
        base_url: str = "",
    ) -> None:
        self.survey = survey
        self.rules = list(rules)
        self.endings = endings or default_endings
        self.notify = notify
        self.base_url = base_url
        self.on_queue: list[Callable[[], None]] = []
        """Called after a transaction that queued notifications (the delivery thread's wake)."""
        self._queued = 0
        followup = notify.followup if notify is not None else None
        if followup is not None and followup.questionnaire not in survey.questionnaires:
            known = ", ".join(sorted(survey.questionnaires)) or "none"
            raise ConfigError(
                f"[followup] questionnaire = {followup.questionnaire!r} is not one of the "
                f"questionnaires served ({known}); add its file to -q or fix the name"
            )
        self._sqlite = survey.engine.dialect.name == "sqlite"

    # --- users and sessions --------------------------------------------------------

    def add_user(
        self,
        name: str,
        role: str,
        units: Sequence[str],
        password: str,
        *,
        actor: str = "cli",
        email: str | None = None,
    ) -> User:
        """Create a user (or replace its role, units, password and e-mail address)."""
        name = name.strip()
        if not name or len(name) > MAX_FIELD_CHARS:
            raise CaseError(f"a user name has 1 to {MAX_FIELD_CHARS} characters")
        if role not in ROLES:
            raise CaseError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        clean = tuple(sorted({u.strip() for u in units if u.strip()}))
        if not clean:
            raise CaseError('give the units the user may see, or "*" for all')
        if len(password) < MIN_PASSWORD:
            raise CaseError(f"a password needs at least {MIN_PASSWORD} characters")
        email = (email or "").strip() or None
        if email is not None and ("@" not in email or len(email) > 320 or " " in email):
            raise CaseError(f"{email!r} is not an e-mail address like olga@example.com")
        values = {
            "email": email,
            "role": role,
            "units": ",".join(clean),
            "password": hash_password(password),
            "created_at": _now(),
            "disabled_at": None,
        }
        with self.survey.write() as connection:
            t = m.users
            connection.execute(t.delete().where(t.c.name == name))
            connection.execute(t.insert().values(name=name, **values))
            self.survey.audit(connection, actor, "add-user", f"{name} ({role}: {','.join(clean)})")
        return User(name, role, clean)

    def users(self) -> list[User]:
        with self.survey.engine.connect() as connection:
            rows = connection.execute(sa.select(m.users).order_by(m.users.c.name)).all()
        return [User(r.name, r.role, tuple(r.units.split(","))) for r in rows]

    def login(self, name: str, password: str) -> tuple[str, str]:
        """A new session for a correct name and password: ``(token, csrf)``."""
        with self.survey.engine.connect() as connection:
            row = connection.execute(
                sa.select(m.users).where(m.users.c.name == name, m.users.c.disabled_at.is_(None))
            ).one_or_none()
        good = check_password(password, row.password if row is not None else DUMMY_HASH)
        if row is None or not good:
            with self.survey.write() as connection:
                self.survey.audit(connection, f"user:{name[:50]}", "failed-login", "")
            raise AccessError("wrong user name or password")
        token, csrf = new_token(), new_token()
        now = _now()
        with self.survey.write() as connection:
            connection.execute(
                m.sessions.insert().values(
                    token_hash=token_hash(token),
                    user_name=row.name,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + timedelta(hours=SESSION_HOURS),
                )
            )
            self.survey.audit(connection, f"user:{row.name}", "login", "")
        return token, csrf

    def session(self, token: str | None) -> tuple[User, str] | None:
        """The user and CSRF token of a live session; None for a missing, forged or
        expired one."""
        if not token:
            return None
        s, u = m.sessions, m.users
        with self.survey.engine.connect() as connection:
            row = connection.execute(
                sa.select(u.c.name, u.c.role, u.c.units, s.c.csrf, s.c.expires_at)
                .join(u, u.c.name == s.c.user_name)
                .where(s.c.token_hash == token_hash(token), u.c.disabled_at.is_(None))
            ).one_or_none()
        if row is None or (_utc(row.expires_at) or _now()) <= _now():
            return None
        return User(row.name, row.role, tuple(row.units.split(","))), str(row.csrf)

    def logout(self, token: str) -> None:
        with self.survey.write() as connection:
            connection.execute(
                m.sessions.delete().where(m.sessions.c.token_hash == token_hash(token))
            )

    # --- alert rules -----------------------------------------------------------------

    def evaluate_new(self) -> list[int]:
        """Run the rules on every answer not looked at yet; returns the new case ids."""
        opened: list[int] = []
        while True:
            rows = self.survey.read_snapshot(self._unseen)
            if not rows:
                return opened
            endings = self._endings(rows)
            with self.survey.write() as connection:
                for row, ending in zip(rows, endings, strict=True):
                    if self._claim(connection, row.id):
                        opened += self._apply_rules(connection, row, ending)
            self._wake_delivery()
            if len(rows) < BATCH:
                return opened

    def _unseen(self, connection: Connection) -> list[Any]:
        newest = connection.execute(sa.select(sa.func.max(m.alert_checks.c.response_id))).scalar()
        after = max(0, int(newest or 0) - LOOKBACK)
        return list(connection.execute(_NEW_ANSWERS, {"after": after}).all())

    def _claim(self, connection: Connection, response_id: int) -> bool:
        """Mark an answer as checked; False when another process checked it first."""
        insert = (postgresql.insert if not self._sqlite else sqlite.insert)(m.alert_checks)
        claimed = connection.execute(
            insert.values(response_id=response_id, checked_at=_now())
            .on_conflict_do_nothing(index_elements=["response_id"])
            .returning(m.alert_checks.c.response_id)
        ).first()
        return claimed is not None

    def _endings(self, rows: list[Any]) -> list[str | None]:
        wanted = [
            i
            for i, row in enumerate(rows)
            if row.comment
            and any(
                r.kind == "negative_ending" and r.applies_to(row.touchpoint) for r in self.rules
            )
        ]
        out: list[str | None] = [None] * len(rows)
        if wanted:
            for i, label in zip(
                wanted, self.endings([rows[i].comment for i in wanted]), strict=True
            ):
                out[i] = label
        return out

    def _apply_rules(self, connection: Connection, row: Any, ending: str | None) -> list[int]:
        opened = []
        for rule in self.rules:
            if not rule.applies_to(row.touchpoint) or not self._matches(
                connection, rule, row, ending
            ):
                continue
            case_id = self._open(connection, rule, row)
            if case_id is not None:
                opened.append(case_id)
        return opened

    def _matches(self, connection: Connection, rule: Rule, row: Any, ending: str | None) -> bool:
        if rule.kind == "score_at_most":
            return rule.is_low(row)
        if rule.kind == "negative_ending":
            return ending == "negative"
        if not rule.is_low(row):
            return False
        r, i, c = m.responses, m.invitations, m.cases
        since = (_utc(row.submitted_at) or _now()) - timedelta(days=rule.days)
        column = r.c[rule.field]
        low = connection.execute(
            sa.select(sa.func.count())
            .select_from(r.join(i, i.c.id == r.c.invitation_id))
            .where(
                i.c.customer_id == row.customer_id,
                r.c.submitted_at >= since,
                r.c.id <= row.id,
                column <= rule.cut,
            )
        ).scalar_one()
        already = connection.execute(
            sa.select(c.c.id).where(
                c.c.rule == rule.id, c.c.customer_id == row.customer_id, c.c.status != "closed"
            )
        ).first()
        return int(low) >= rule.count and already is None

    def _open(self, connection: Connection, rule: Rule, row: Any) -> int | None:
        now = _now()
        trigger = {
            "answers": json.loads(row.answers),
            "comment": row.comment,
            "submitted_at": (_utc(row.submitted_at) or now).isoformat(),
        }
        values = {
            "rule": rule.id,
            "response_id": row.id,
            "customer_id": row.customer_id,
            "journey_id": row.journey_id,
            "touchpoint": row.touchpoint,
            "questionnaire": row.questionnaire,
            "unit": rule.unit_of(row.touchpoint),
            "owner": rule.owner,
            "status": "open",
            "reason": rule.describe(),
            "trigger": json.dumps(trigger, ensure_ascii=False),
            "opened_at": now,
            "due_at": now + timedelta(hours=rule.due_hours),
        }
        insert = (postgresql.insert if not self._sqlite else sqlite.insert)(m.cases)
        result = connection.execute(
            insert.values(**values)
            .on_conflict_do_nothing(index_elements=["rule", "response_id"])
            .returning(m.cases.c.id)
        ).first()
        if result is None:
            return None  # another process opened it
        self.survey.audit(connection, "rules", "open-case", f"case {result[0]} by {rule.id}")
        self._queue(connection, "opened", int(result[0]))
        return int(result[0])

    # --- notifications -----------------------------------------------------------------

    def _queue(self, connection: Connection, event: str, case_id: int) -> int:
        """Queue the notifications of a case event in the current transaction."""
        if self.notify is None:
            return 0
        row = connection.execute(sa.select(m.cases).where(m.cases.c.id == case_id)).one()
        self._queued += outbox.enqueue(connection, self.notify, event, row, self.base_url)
        return self._queued

    def _wake_delivery(self) -> None:
        if self._queued:
            self._queued = 0
            for wake in self.on_queue:
                wake()

    # --- cases -----------------------------------------------------------------------

    def cases(self, user: User, *, status: str | None = None, limit: int = 200) -> list[Case]:
        """The cases the user may see, newest first."""
        c = m.cases
        query = sa.select(c).order_by(c.c.id.desc()).limit(limit)
        if not user.all_units:
            query = query.where(c.c.unit.in_(user.units))
        if status is not None:
            if status not in STATUSES:
                raise CaseError(f"status must be one of {', '.join(STATUSES)}")
            query = query.where(c.c.status == status)
        with self.survey.engine.connect() as connection:
            return [_case(row) for row in connection.execute(query)]

    def timings(self, user: User) -> list[CaseTimes]:
        """Status and times of every case the user may see (for the case report)."""
        c = m.cases
        query = sa.select(
            c.c.status, c.c.opened_at, c.c.due_at, c.c.first_response_at, c.c.closed_at
        )
        if not user.all_units:
            query = query.where(c.c.unit.in_(user.units))
        with self.survey.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            CaseTimes(
                r.status,
                _utc(r.opened_at) or _now(),
                _utc(r.due_at) or _now(),
                _utc(r.first_response_at),
                _utc(r.closed_at),
            )
            for r in rows
        ]

    def case(self, user: User, case_id: int) -> tuple[Case, list[Note]]:
        """One case and its notes (the view is audited); 404 outside the user's units."""
        with self.survey.write() as connection:
            found = self._visible(connection, user, case_id)
            notes = connection.execute(
                sa.select(m.case_notes)
                .where(m.case_notes.c.case_id == case_id)
                .order_by(m.case_notes.c.id)
            ).all()
            self.survey.audit(connection, f"user:{user.name}", "view-case", f"case {case_id}")
        return found, [Note(n.author, _utc(n.ts) or _now(), n.text) for n in notes]

    def _visible(self, connection: Connection, user: User, case_id: int) -> Case:
        row = connection.execute(sa.select(m.cases).where(m.cases.c.id == case_id)).one_or_none()
        if row is None or not user.sees(row.unit):
            raise CaseNotFoundError(f"no case {case_id}")
        return _case(row)

    def update(
        self,
        user: User,
        case_id: int,
        *,
        status: str | None = None,
        note: str | None = None,
        root_cause: str | None = None,
        owner: str | None = None,
    ) -> Case:
        """Change a case's status, owner or root cause, or add a note (audited).

        The first change by a person sets ``first_response_at``; closing sets
        ``closed_at``. Only admins and case owners may change cases.
        """
        if not user.can_work:
            raise ForbiddenError(f"a {user.role} may not change cases")
        if status is not None and status not in STATUSES:
            raise CaseError(f"status must be one of {', '.join(STATUSES)}")
        if note is not None and not note.strip():
            raise CaseError("a note cannot be empty")
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise CaseError(f"a note has at most {MAX_NOTE_CHARS} characters")
        now = _now()
        with self.survey.write() as connection:
            found = self._visible(connection, user, case_id)
            values: dict[str, Any] = {}
            if found.first_response_at is None:
                values["first_response_at"] = now
            if status is not None and status != found.status:
                values["status"] = status
                values["closed_at"] = now if status == "closed" else None
            if root_cause is not None:
                values["root_cause"] = root_cause.strip()[:MAX_FIELD_CHARS] or None
            if owner is not None:
                values["owner"] = owner.strip()[:MAX_FIELD_CHARS] or None
            if values:  # a note alone on a case already answered changes no column
                connection.execute(m.cases.update().where(m.cases.c.id == case_id).values(**values))
            for event in _events(found, values):
                self._queue(connection, event, case_id)
            if note is not None:
                connection.execute(
                    m.case_notes.insert().values(
                        case_id=case_id, author=user.name, ts=now, text=note.strip()
                    )
                )
            changed = ", ".join(sorted(set(values) - {"first_response_at"})) or "note"
            self.survey.audit(
                connection, f"user:{user.name}", "change-case", f"case {case_id}: {changed}"
            )
            row = connection.execute(sa.select(m.cases).where(m.cases.c.id == case_id)).one()
        if values.get("status") == "closed" and self.send_followups([case_id]):
            row = self._row(case_id)
        self._wake_delivery()
        return _case(row)

    def _row(self, case_id: int) -> Any:
        with self.survey.engine.connect() as connection:
            return connection.execute(sa.select(m.cases).where(m.cases.c.id == case_id)).one()

    def send_followups(self, case_ids: list[int] | None = None) -> list[int]:
        """Invite the customers of closed cases to the follow-up questionnaire.

        Never fails the caller: a failure is logged and the alert thread's next
        pass tries again (closed cases without an invitation are looked for).
        """
        if self.notify is None or self.notify.followup is None:
            return []
        try:
            done = send_followups(
                self.survey, self.notify, base_url=self.base_url, case_ids=case_ids
            )
        except Exception:
            log.exception("follow-up invitations failed; retried on the next pass")
            return []
        self._queued += len(done)
        return done

    def followups(self, case_ids: list[int] | None = None) -> dict[int, FollowupAnswer]:
        """The follow-up of each case that has one (answered, value, positive)."""
        if self.notify is None or self.notify.followup is None:
            return {}
        return followup_answers(self.survey, self.notify.followup, case_ids)

    def escalate_overdue(self, *, now: datetime | None = None) -> list[int]:
        """Mark every open or in-progress case past its due time as escalated."""
        now = now or _now()
        c = m.cases
        with self.survey.write() as connection:
            ids = [
                int(i)
                for i in connection.execute(
                    sa.select(c.c.id).where(
                        c.c.status.in_(("open", "in_progress")), c.c.due_at < now
                    )
                ).scalars()
            ]
            if ids:
                connection.execute(
                    c.update().where(c.c.id.in_(ids)).values(status="escalated", escalated_at=now)
                )
                self.survey.audit(
                    connection, "rules", "escalate", f"{len(ids)} overdue case(s): {ids[:20]}"
                )
                for case_id in ids:
                    self._queue(connection, "escalated", case_id)
        self._wake_delivery()
        return ids


def _events(before: Case, values: dict[str, Any]) -> list[str]:
    """The notification events of a change to a case."""
    events = []
    if values.get("owner") and values["owner"] != before.owner:
        events.append("assigned")
    if values.get("status") in ("escalated", "closed"):
        events.append(str(values["status"]))
    return events
