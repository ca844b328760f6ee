"""The survey store: invitations, answers, drafts, keys and the audit log in SQL.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL``, so a
commit is on disk before :meth:`SurveyStore.submit` returns: an answer is
acknowledged only after it is committed. Writes take SQLite's write lock up front
(``BEGIN IMMEDIATE``) and are serialised in-process, so concurrent submissions
queue instead of failing with "database is locked". PostgreSQL (``postgresql://``
URLs, driver psycopg 3) is the production store; there the unique key on
``responses.invitation_id`` settles races between two submissions of one link.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from peakend.errors import ConfigError, SourceError
from peakend.survey import models as m
from peakend.survey.database import alembic_config, make_engine, sqlite_file, upgrade
from peakend.survey.errors import (
    AccessError,
    AlreadyAnsweredError,
    AnswerError,
    ExpiredLinkError,
    InvalidLinkError,
)
from peakend.survey.groupcommit import GroupCommit
from peakend.survey.keys import derive, service_key
from peakend.survey.questionnaire import Answer, Questionnaire, text_problem
from peakend.survey.tokens import (
    LinkToken,
    new_api_key,
    new_invitation_id,
    new_secret,
    parse_token,
    same_hash,
    sign_token,
    split_api_key,
    verify_token,
)

DEFAULT_TTL_DAYS = 14
SECRET_KEYS = ("secret", "previous_secret")
SECRET_RELOAD_S = 2.0
"""Each worker reads the link-signing seeds again after this many seconds, so a
rotation elsewhere reaches every worker within it."""
MAX_FIELD_CHARS = 200
LATEST_YEAR = 9000
"""Invitation times after this year are refused (their expiry would not fit a date)."""
log = logging.getLogger("peakend.survey")


def normalise_id(value: str) -> str:
    """The stored form of a customer, journey or touchpoint id: Unicode NFC, no outer spaces.

    Every import path (CSV, JSON, Python) and :meth:`SurveyStore.forget_customer`
    use it, so ``"C-1 "`` and ``"C-1"`` are one customer.
    """
    return unicodedata.normalize("NFC", value).strip()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


# --- results ----------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationRequest:
    """One touchpoint event to invite a customer about."""

    customer_id: str
    journey_id: str
    touchpoint: str
    ts: datetime
    channel: str | None = None
    lang: str | None = None
    questionnaire: str | None = None


@dataclass(frozen=True)
class Invitation:
    """An invitation; ``token`` goes into the link ``/s/<token>``.

    ``created`` is False when the invitation already existed for this event.
    """

    id: str
    token: str
    customer_id: str
    journey_id: str
    touchpoint: str
    questionnaire: str
    ts: datetime
    expires_at: datetime
    lang: str | None = None
    channel: str | None = None
    created: bool = True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ts"] = self.ts.isoformat()
        data["expires_at"] = self.expires_at.isoformat()
        return data


@dataclass(frozen=True)
class Receipt:
    """Proof that an answer is committed; ``duplicate`` when it was already stored."""

    response_id: int
    submitted_at: datetime
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "response_id": self.response_id,
            "submitted_at": self.submitted_at.isoformat(),
            "duplicate": self.duplicate,
        }


@dataclass(frozen=True)
class FormState:
    """What a form page needs: the invitation, its questionnaire and saved answers."""

    invitation: Invitation
    questionnaire: Questionnaire
    draft: Mapping[str, Answer] = field(default_factory=dict)
    answered: bool = False


@dataclass(frozen=True)
class ForgetResult:
    """What :meth:`SurveyStore.forget_customer` deleted."""

    invitations: int
    responses: int
    drafts: int
    cases: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


# --- the store --------------------------------------------------------------------


class SurveyStore:
    """Invitations and answers in a SQL database.

    Parameters
    ----------
    engine
        From :func:`make_engine`; the schema must be at the newest migration
        (:func:`upgrade`, or use :meth:`open`).
    questionnaires
        The questionnaires by id (:func:`~peakend.survey.questionnaire.read_questionnaires`).
    ttl_days
        How long an invitation link stays valid.
    group_commit
        On SQLite, let concurrent submissions share one commit (each caller is
        still answered only after its own answer is on disk).
    pipeline
        On PostgreSQL (psycopg), send a submission's statements in two batches
        (:mod:`peakend.survey.pgsubmit`) instead of one at a time.
    """

    def __init__(
        self,
        engine: Engine,
        questionnaires: Mapping[str, Questionnaire],
        *,
        ttl_days: float = DEFAULT_TTL_DAYS,
        group_commit: bool = True,
        pipeline: bool = True,
    ) -> None:
        self.engine = engine
        self.questionnaires = dict(questionnaires)
        self.ttl = timedelta(days=ttl_days)
        self._sqlite = engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock()
        # SQLite has one writer and an fsync per commit: concurrent submissions
        # share commits (see peakend.survey.groupcommit). PostgreSQL groups
        # concurrent commits itself.
        self._group_commit: GroupCommit[Receipt] | None = (
            GroupCommit(self._write) if self._sqlite and group_commit else None
        )
        # PostgreSQL submissions go through psycopg's pipeline mode (fewer round
        # trips); this is the read they use, compiled once.
        self._pipelined_reads: str | None = None
        if pipeline and engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            self._pipelined_reads = str(_OPEN_INVITATION.compile(dialect=engine.dialect))
        self._check_schema()
        self._key = service_key(sqlite_file(engine))
        self._secret, self._previous_secret = self._secrets()
        self._secrets_read_at = time.monotonic()
        self.listeners: list[Callable[[int], None]] = []
        """Called with the response id after each new answer is committed (e.g. the
        alert rules of :mod:`peakend.cases`); they must return at once."""

    @classmethod
    def open(
        cls,
        db: str | Path,
        questionnaires: Mapping[str, Questionnaire],
        *,
        ttl_days: float = DEFAULT_TTL_DAYS,
    ) -> SurveyStore:
        """Connect to ``db``, create or upgrade its schema, and return the store."""
        engine = make_engine(db)
        upgrade(engine)
        return cls(engine, questionnaires, ttl_days=ttl_days)

    def _check_schema(self) -> None:
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
                head = ScriptDirectory.from_config(alembic_config(connection)).get_current_head()
        except sa.exc.OperationalError as exc:
            raise SourceError(f"cannot open the survey database: {exc.orig}") from exc
        if current != head:
            raise SourceError(
                f"the survey database is at schema {current or 'none'}, not {head}; "
                "run `peakend survey init --db ...` to create or upgrade it"
            )

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction: serialised per process and IMMEDIATE on SQLite."""
        lock: AbstractContextManager[Any] = self._write_lock if self._sqlite else nullcontext()
        with lock:
            with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
                with conn.begin():
                    yield conn

    def _secrets(self) -> tuple[str, str | None]:
        """The link-signing keys, current and previous (the seed is made on first use).

        The database holds only seeds; a key is ``HMAC(service key, seed)``, so the
        database alone cannot sign a link (see :mod:`peakend.survey.keys`).
        """
        meta = m.survey_meta
        with self.engine.connect() as connection:
            found = _seeds(connection)
        if "secret" not in found:
            try:
                with self._write() as connection:
                    connection.execute(meta.insert().values(key="secret", value=new_secret()))
            except sa.exc.IntegrityError:
                pass  # another process made it first
            with self.engine.connect() as connection:
                found = _seeds(connection)
        return self._keys(found)

    def _keys(self, found: Mapping[str, str]) -> tuple[str, str | None]:
        previous = found.get("previous_secret")
        return (
            derive(self._key, "link", str(found["secret"])),
            derive(self._key, "link", str(previous)) if previous else None,
        )

    def _verify(self, token: str, connection: Connection | None) -> LinkToken | None:
        """The content of a link signed with the current or the previous key.

        The keys are read again when they are older than :data:`SECRET_RELOAD_S`,
        so a rotation by another process revokes old links on every worker
        within seconds, and links signed after it are accepted. They are read on
        ``connection``, or on a connection of their own when it is None (the
        caller then holds no other connection).
        """
        if time.monotonic() - self._secrets_read_at > SECRET_RELOAD_S:
            # On the caller's connection: a second one from the pool while this one
            # is held could wait for ever when every pooled connection is in use.
            if connection is None:
                with self.engine.connect() as own:
                    seeds = _seeds(own)
            else:
                seeds = _seeds(connection)
            self._secret, self._previous_secret = self._keys(seeds)
            self._secrets_read_at = time.monotonic()
        for secret in (self._secret, self._previous_secret):
            verified = verify_token(secret, token) if secret else None
            if verified is not None:
                return verified
        return None

    def rotate_secret(self, *, actor: str = "cli") -> None:
        """Sign new links with a fresh secret; links signed with the current one keep
        working until the next rotation, older ones stop working."""
        meta = m.survey_meta
        with self._write() as connection:
            current = connection.execute(
                sa.select(meta.c.value).where(meta.c.key == "secret")
            ).scalar_one()
            connection.execute(meta.delete().where(meta.c.key == "previous_secret"))
            connection.execute(meta.insert().values(key="previous_secret", value=current))
            connection.execute(
                meta.update().where(meta.c.key == "secret").values(value=new_secret())
            )
            self._audit(connection, actor, "rotate-secret", "new link-signing secret")
        self._secret, self._previous_secret = self._secrets()
        self._secrets_read_at = time.monotonic()

    # --- invitations ----------------------------------------------------------------

    def questionnaire_for(self, touchpoint: str, questionnaire: str | None = None) -> Questionnaire:
        """The questionnaire named ``questionnaire``, else the one for ``touchpoint``."""
        if questionnaire is not None:
            if questionnaire not in self.questionnaires:
                known = ", ".join(sorted(self.questionnaires)) or "none"
                raise AnswerError(f"no questionnaire {questionnaire!r}; known: {known}")
            return self.questionnaires[questionnaire]
        found = [q for q in self.questionnaires.values() if q.touchpoint == touchpoint]
        if len(found) != 1:
            touchpoints = ", ".join(sorted({q.touchpoint for q in self.questionnaires.values()}))
            reason = "no questionnaire" if not found else "several questionnaires"
            raise AnswerError(
                f"{reason} for touchpoint {touchpoint!r}; name one with `questionnaire` "
                f"(touchpoints with a questionnaire: {touchpoints or 'none'})"
            )
        return found[0]

    def invite(self, requests: Iterable[InvitationRequest], *, actor: str) -> list[Invitation]:
        """One signed, single-use, expiring link per customer and touchpoint event.

        Inviting again for the same event (customer, journey, touchpoint, time)
        returns the existing link (``created=False``), renewed when it expired
        unanswered, so that a batch can be re-run without duplicate events. The
        batch is validated as a whole: nothing is stored when a request is invalid.

        Raises
        ------
        AnswerError
            If a request has an empty or too long field, an unknown language, or
            no questionnaire; ``errors`` names the row.
        """
        created_at = _now()
        expires = int((created_at + self.ttl).timestamp())
        expires_at = datetime.fromtimestamp(expires, UTC)
        fresh: list[Invitation] = []
        problems: dict[str, str] = {}
        for index, request in enumerate(requests):
            try:
                fresh.append(self._invitation(request, expires_at, expires))
            except AnswerError as exc:
                problems[f"row {index + 1}"] = exc.message
        if problems:
            raise AnswerError(f"{len(problems)} invitation(s) are invalid", problems)
        if not fresh:
            return []
        try:
            return self._store_invitations(fresh, created_at, expires_at, actor)
        except sa.exc.IntegrityError:
            # Another batch stored one of these events at the same moment (PostgreSQL):
            # a second pass finds it.
            return self._store_invitations(fresh, created_at, expires_at, actor)

    def _store_invitations(
        self, fresh: list[Invitation], created_at: datetime, expires_at: datetime, actor: str
    ) -> list[Invitation]:
        chosen: dict[tuple[str, str, str, datetime], Invitation] = {}
        rows: list[dict[str, Any]] = []
        with self._write() as connection:
            for invitation in fresh:
                key = _event_key(invitation)
                if key in chosen:
                    continue
                existing = self._existing(connection, invitation, expires_at)
                if existing is None:
                    rows.append(_invitation_row(invitation, created_at, actor))
                chosen[key] = existing or invitation
            if rows:
                connection.execute(m.invitations.insert(), rows)
            self._audit(
                connection, actor, "invite", f"{len(rows)} new, {len(chosen) - len(rows)} existing"
            )
        return [chosen[_event_key(invitation)] for invitation in fresh]

    def _existing(
        self, connection: Connection, invitation: Invitation, expires_at: datetime
    ) -> Invitation | None:
        """The stored invitation for the same event (renewed if it expired unanswered)."""
        i = m.invitations
        row = connection.execute(
            sa.select(i).where(
                i.c.customer_id == invitation.customer_id,
                i.c.journey_id == invitation.journey_id,
                i.c.touchpoint == invitation.touchpoint,
                i.c.event_ts == invitation.ts,
            )
        ).one_or_none()
        if row is None:
            return None
        expires = _utc(row.expires_at)
        if expires <= _now():
            answered = connection.execute(
                sa.select(m.responses.c.id).where(m.responses.c.invitation_id == row.id)
            ).first()
            if answered is None:
                connection.execute(i.update().where(i.c.id == row.id).values(expires_at=expires_at))
                expires = expires_at
        token = sign_token(self._secret, row.id, int(expires.timestamp()))
        return dataclasses.replace(_row_invitation(row, token), expires_at=expires, created=False)

    def _invitation(
        self, request: InvitationRequest, expires_at: datetime, expires: int
    ) -> Invitation:
        ids: dict[str, str] = {}
        for name in ("customer_id", "journey_id", "touchpoint"):
            value = getattr(request, name)
            if not isinstance(value, str) or not normalise_id(value):
                raise AnswerError(f"`{name}` must be text of 1 to {MAX_FIELD_CHARS} characters")
            ids[name] = normalise_id(value)
            if len(ids[name]) > MAX_FIELD_CHARS:
                raise AnswerError(f"`{name}` must be text of 1 to {MAX_FIELD_CHARS} characters")
        for name in ("customer_id", "journey_id", "touchpoint", "channel"):
            value = getattr(request, name)
            problem = text_problem(value) if isinstance(value, str) else None
            if problem is not None:
                raise AnswerError(f"`{name}`: {problem}")
        if request.channel is not None and len(request.channel) > MAX_FIELD_CHARS:
            raise AnswerError(f"`channel` is longer than {MAX_FIELD_CHARS} characters")
        try:
            ts = _utc(request.ts)
        except (OverflowError, ValueError):
            ts = None
        if ts is None or ts.year > LATEST_YEAR:
            raise AnswerError(f"`ts` {request.ts.isoformat()} is not a time before {LATEST_YEAR}")
        request = dataclasses.replace(
            request,
            customer_id=ids["customer_id"],
            journey_id=ids["journey_id"],
            touchpoint=ids["touchpoint"],
        )
        questionnaire = self.questionnaire_for(request.touchpoint, request.questionnaire)
        if request.lang is not None and request.lang not in questionnaire.languages:
            raise AnswerError(
                f"language {request.lang!r} is not offered; "
                f"use {', '.join(questionnaire.languages)}"
            )
        invitation_id = new_invitation_id()
        return Invitation(
            id=invitation_id,
            token=sign_token(self._secret, invitation_id, expires),
            customer_id=request.customer_id,
            journey_id=request.journey_id,
            touchpoint=request.touchpoint,
            questionnaire=questionnaire.id,
            ts=ts,
            expires_at=expires_at,
            lang=request.lang,
            channel=request.channel,
        )

    def _open_invitation(
        self, connection: Connection, token: str, *, for_update: bool = False
    ) -> tuple[Invitation, Any]:
        """The invitation of a valid link, and in one query its response and draft.

        The second value has ``response_id``, ``submitted_at``, ``digest`` (None
        when unanswered) and ``draft`` (the saved answers as JSON, or None).
        ``for_update`` locks the invitation's row until the transaction ends
        (PostgreSQL; SQLite's write lock already covers it), so that a draft and
        a submission of one link never interleave.
        """
        verified = self._verified(token, connection)
        key = {"invitation_id": verified.invitation_id}
        if for_update and not self._sqlite:
            # Lock first, then read in a new statement: under READ COMMITTED a
            # statement that waited for the lock would still see the response and
            # draft as they were before the other transaction committed.
            connection.execute(_LOCK_INVITATION, key)
        row = connection.execute(_OPEN_INVITATION, key).one_or_none()
        return self._usable(row, verified, token), row

    def _verified(self, token: str, connection: Connection | None) -> LinkToken:
        """The content of a validly signed link; raises :class:`InvalidLinkError`."""
        verified = self._verify(token, connection)
        if verified is None:
            raise InvalidLinkError("this link is not valid: check that it was copied completely")
        return verified

    def _usable(self, row: Any, verified: LinkToken, token: str) -> Invitation:
        """The invitation of ``row`` (from :data:`_OPEN_INVITATION`) if the link may be used.

        Raises :class:`InvalidLinkError` for an unknown, revoked, not yet valid or
        withdrawn link and :class:`ExpiredLinkError` for an expired one.
        """
        if row is None or row.revoked_at is not None:
            raise InvalidLinkError("this link is no longer valid")
        now = _now()
        if row.valid_from is not None and _utc(row.valid_from) > now:
            raise InvalidLinkError("this link is not valid yet")
        expires_at = _utc(row.expires_at)
        if expires_at <= now or verified.expires <= now.timestamp():
            raise ExpiredLinkError("this link has expired; answers can no longer be given")
        if row.questionnaire not in self.questionnaires:
            raise InvalidLinkError("the questionnaire of this link is no longer offered")
        return _row_invitation(row, token)

    # --- the public form --------------------------------------------------------------

    def form(self, token: str) -> FormState:
        """The invitation behind a link with its draft answers, or an error for a bad link."""
        with self.engine.connect() as connection:
            invitation, state = self._open_invitation(connection, token)
        return FormState(
            invitation=invitation,
            questionnaire=self.questionnaires[invitation.questionnaire],
            draft=json.loads(state.draft) if state.draft else {},
            answered=state.response_id is not None,
        )

    def save_draft(self, token: str, answers: Mapping[str, object]) -> dict[str, Answer]:
        """Keep partial answers (valid ones only) until the form is submitted."""
        with self._write() as connection:
            invitation, state = self._open_invitation(connection, token, for_update=True)
            questionnaire = self.questionnaires[invitation.questionnaire]
            clean, errors = questionnaire.check_answers(answers, partial=True)
            if errors:
                raise AnswerError("some answers are not valid", errors)
            if state.response_id is not None:
                raise AlreadyAnsweredError("this questionnaire has already been answered")
            values = {"answers": json.dumps(clean), "updated_at": _now()}
            insert = _insert(self.engine).values(invitation_id=invitation.id, **values)
            connection.execute(
                insert.on_conflict_do_update(index_elements=["invitation_id"], set_=values)
            )
            self._count_use(connection, invitation.id)
        return clean

    @staticmethod
    def _count_use(connection: Connection, invitation_id: str) -> None:
        connection.execute(_COUNT_USE, {"invitation_id": invitation_id})

    def submit(
        self, token: str, answers: Mapping[str, object], *, lang: str | None = None
    ) -> Receipt:
        """Store the answers for a link; returns only after the commit.

        Submitting the same answers again returns the first receipt with
        ``duplicate=True``; different answers for an answered link are refused.

        Raises
        ------
        InvalidLinkError, ExpiredLinkError
            For forged, altered, forgotten or expired links.
        AnswerError
            For missing or invalid answers (``errors`` by question id).
        AlreadyAnsweredError
            If the link was already used for different answers.
        """
        if self._group_commit is not None:
            receipt = self._group_commit.run(lambda conn: self._store(conn, token, answers, lang))
        else:
            try:
                if self._pipelined_reads is not None:
                    receipt = self._submit_pipelined(token, answers, lang, self._pipelined_reads)
                else:
                    with self._write() as connection:
                        receipt = self._store(connection, token, answers, lang)
            except sa.exc.IntegrityError:
                # Another transaction stored an answer for this link at the same moment.
                with self._write() as connection:
                    receipt = self._store(connection, token, answers, lang)
        if not receipt.duplicate:
            self._notify(receipt.response_id)
        return receipt

    def _submit_pipelined(
        self, token: str, answers: Mapping[str, object], lang: str | None, read: str
    ) -> Receipt:
        """:meth:`submit` on PostgreSQL in two round trips (see :mod:`peakend.survey.pgsubmit`).

        The same checks as :meth:`_store`, in the same order: the invitation is
        locked before its answer and draft are read.
        """
        from peakend.survey import pgsubmit

        verified = self._verified(token, None)
        with pgsubmit.pipelined(self.engine) as connection:
            row = pgsubmit.lock_and_read(connection, read, verified.invitation_id)
            invitation = self._usable(row, verified, token)
            response = self._response_row(invitation, row, answers, lang)
            if isinstance(response, Receipt):
                pgsubmit.rollback(connection)  # nothing to store: not even the use count
                return response
            response_id = pgsubmit.insert_and_commit(
                connection, response, delete_draft=row.draft is not None
            )
        return Receipt(response_id, response["submitted_at"])

    def _notify(self, response_id: int) -> None:
        """Tell the listeners about a committed answer; a failing listener never fails it."""
        for listener in self.listeners:
            try:
                listener(response_id)
            except Exception:  # the answer is stored; an alert must not undo that
                log.exception("a listener failed on response %s", response_id)

    def write(self) -> AbstractContextManager[Connection]:
        """A write transaction shared with the survey (serialised, IMMEDIATE on SQLite)."""
        return self._write()

    def read_snapshot(self, read: Callable[[Connection], Any]) -> Any:
        """Run ``read(connection)`` in a snapshot that never blocks submissions."""
        return self._read_snapshot(read)

    def audit(self, connection: Connection, actor: str, action: str, detail: str) -> None:
        """Write an audit entry inside the caller's transaction."""
        self._audit(connection, actor, action, detail)

    def _store(
        self, connection: Connection, token: str, answers: Mapping[str, object], lang: str | None
    ) -> Receipt:
        """Check and insert one submission inside an open write transaction."""
        invitation, state = self._open_invitation(connection, token, for_update=True)
        response = self._response_row(invitation, state, answers, lang)
        if isinstance(response, Receipt):
            return response
        inserted = connection.execute(m.responses.insert().values(**response)).inserted_primary_key
        assert inserted is not None
        if state.draft is not None:
            connection.execute(m.drafts.delete().where(m.drafts.c.invitation_id == invitation.id))
        self._count_use(connection, invitation.id)
        return Receipt(int(inserted[0]), response["submitted_at"])

    def _response_row(
        self,
        invitation: Invitation,
        state: Any,
        answers: Mapping[str, object],
        lang: str | None,
    ) -> dict[str, Any] | Receipt:
        """The ``responses`` row to insert for checked answers, or the first receipt.

        ``state`` is the invitation's row from :data:`_OPEN_INVITATION`, read
        while the invitation is locked. Returns the stored receipt
        (``duplicate=True``) for a repeat of the same answers.

        Raises
        ------
        AnswerError
            For missing or invalid answers.
        AlreadyAnsweredError
            If different answers are stored for this link.
        """
        questionnaire = self.questionnaires[invitation.questionnaire]
        clean, errors = questionnaire.check_answers(answers)
        if errors:
            raise AnswerError("some answers are missing or not valid", errors)
        language = questionnaire.pick_language(lang, invitation.lang)
        digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()
        if state.response_id is not None:
            if state.digest != digest:
                raise AlreadyAnsweredError(
                    "this questionnaire has already been answered; "
                    "a link can be used for one set of answers only"
                )
            return Receipt(state.response_id, _utc(state.submitted_at), duplicate=True)
        return {
            "invitation_id": invitation.id,
            "submitted_at": _now(),
            "lang": language,
            "answers": json.dumps(clean, ensure_ascii=False),
            "digest": digest,
            **_role_columns(questionnaire, clean),
        }

    def revoke_link(self, link: str, *, actor: str) -> bool:
        """Make one link stop working at once on every worker; False when there is none.

        ``link`` is the token (or a whole ``…/s/<token>`` URL) or the invitation
        id. Unlike rotating the secret, this ends one leaked link and no other.
        """
        token = link.strip().rstrip("/").rsplit("/", 1)[-1]
        parsed = parse_token(token)
        invitation_id = parsed[0] if parsed is not None else token
        i = m.invitations
        with self._write() as connection:
            revoked = connection.execute(
                i.update()
                .where(i.c.id == invitation_id, i.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
            if revoked:
                self._audit(connection, actor, "revoke-link", f"invitation {invitation_id}")
        return bool(revoked)

    # --- admin --------------------------------------------------------------------------

    def add_api_key(self, name: str, *, actor: str = "cli") -> str:
        """Create an API key called ``name``; returns the key (shown once, stored hashed)."""
        if not name.strip() or len(name) > MAX_FIELD_CHARS:
            raise ConfigError(f"an API key needs a name of 1 to {MAX_FIELD_CHARS} characters")
        key = new_api_key()
        with self._write() as connection:
            connection.execute(
                m.api_keys.insert().values(
                    key_id=key.key_id, name=name, hash=key.hash, created_at=_now()
                )
            )
            self._audit(connection, actor, "add-key", f"key {key.key_id} ({name})")
        return key.key

    def revoke_api_key(self, key_id: str, *, actor: str = "cli") -> bool:
        """Stop an API key from working; False when no active key has that id."""
        table = m.api_keys
        with self._write() as connection:
            revoked = connection.execute(
                table.update()
                .where(table.c.key_id == key_id, table.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
            if revoked:
                self._audit(connection, actor, "revoke-key", f"key {key_id}")
        return bool(revoked)

    def authenticate(self, key: str | None) -> str:
        """The actor name (``key:<name>``) of a valid API key; raises :class:`AccessError`."""
        parts = split_api_key(key or "")
        row = None
        if parts is not None:
            with self.engine.connect() as connection:
                row = connection.execute(
                    sa.select(m.api_keys).where(
                        m.api_keys.c.key_id == parts[0], m.api_keys.c.revoked_at.is_(None)
                    )
                ).one_or_none()
        # Compare against a dummy hash when the key id is unknown, so timing says nothing.
        stored = row.hash if row is not None else "0" * 64
        if parts is None or not same_hash(stored, parts[1]) or row is None:
            raise AccessError("a valid API key is needed: send it as `Authorization: Bearer <key>`")
        return f"key:{row.name}"

    def responses(self, *, actor: str, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Answers with their invitation, newest first (logged in the audit log)."""
        query = (
            sa.select(
                m.responses.c.id.label("response_id"),
                m.invitations.c.customer_id,
                m.invitations.c.journey_id,
                m.invitations.c.touchpoint,
                m.invitations.c.questionnaire,
                m.invitations.c.event_ts.label("ts"),
                m.responses.c.submitted_at,
                m.responses.c.lang,
                m.responses.c.answers,
            )
            .join(m.invitations, m.invitations.c.id == m.responses.c.invitation_id)
            .order_by(m.responses.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = self._read_snapshot(lambda connection: connection.execute(query).all())
        with self._write() as connection:
            self._audit(connection, actor, "list", f"{len(rows)} response(s), offset {offset}")
        return [
            {
                **{k: v for k, v in row._mapping.items() if k != "answers"},
                "ts": _utc(row.ts).isoformat(),
                "submitted_at": _utc(row.submitted_at).isoformat(),
                "answers": json.loads(row.answers),
            }
            for row in rows
        ]

    def event_rows(self, *, actor: str, what: str) -> list[dict[str, Any]]:
        """Every invitation as a canonical event row, answers where given (audited)."""
        i, r = m.invitations, m.responses
        query = (
            sa.select(
                i.c.journey_id,
                i.c.customer_id,
                i.c.event_ts.label("ts"),
                i.c.touchpoint,
                i.c.channel,
                r.c.overall.label("score"),
                r.c.success,
                r.c.effort,
                r.c.emotion,
                r.c.feelings,
                r.c.comment.label("text"),
                sa.func.coalesce(r.c.lang, i.c.lang).label("lang"),
                i.c.questionnaire,
                r.c.submitted_at,
            )
            .select_from(i.outerjoin(r, r.c.invitation_id == i.c.id))
            .order_by(i.c.journey_id, i.c.event_ts, i.c.id)
        )
        rows: list[dict[str, Any]] = self._read_snapshot(
            lambda connection: [dict(row._mapping) for row in connection.execute(query)]
        )
        with self._write() as connection:
            self._audit(connection, actor, "export", f"{what}: {len(rows)} event(s)")
        for row in rows:
            row["ts"] = _utc(row["ts"])
            if row["submitted_at"] is not None:
                row["submitted_at"] = _utc(row["submitted_at"])
        return rows

    def forget_customer(self, customer_id: str, *, actor: str) -> ForgetResult:
        """Delete every invitation, answer, draft, case, case note and queued notification
        of one customer (GDPR erasure).

        The id is normalised as on import (:func:`normalise_id`). The audit log
        records the erasure with a tag keyed by the service key (kept outside
        the database), not the id itself. Afterwards no copy is left in the
        database files: on SQLite deleted rows are overwritten (``secure_delete``),
        the indexes rebuilt, free pages given back and the WAL emptied; on
        PostgreSQL the touched tables are rewritten (``VACUUM FULL``). PostgreSQL's
        own write-ahead log keeps the rows until its segments are recycled.
        """
        customer_id = normalise_id(customer_id)
        i = m.invitations
        ids = sa.select(i.c.id).where(i.c.customer_id == customer_id).scalar_subquery()
        with self._write() as connection:
            case_ids = sa.select(m.cases.c.id).where(m.cases.c.customer_id == customer_id)
            connection.execute(m.case_notes.delete().where(m.case_notes.c.case_id.in_(case_ids)))
            connection.execute(
                m.notifications.delete().where(m.notifications.c.case_id.in_(case_ids))
            )
            n_cases = connection.execute(
                m.cases.delete().where(m.cases.c.customer_id == customer_id)
            ).rowcount
            n_responses = connection.execute(
                m.responses.delete().where(m.responses.c.invitation_id.in_(ids))
            ).rowcount
            n_drafts = connection.execute(
                m.drafts.delete().where(m.drafts.c.invitation_id.in_(ids))
            ).rowcount
            n_invitations = connection.execute(
                i.delete().where(i.c.customer_id == customer_id)
            ).rowcount
            if (n_invitations or n_cases) and self._sqlite:
                # Index pages above the leaves keep copies of keys as dividers.
                connection.exec_driver_sql("REINDEX invitations")
                connection.exec_driver_sql("REINDEX cases")
            tag = derive(self._key, "audit", customer_id)[:16]
            self._audit(
                connection,
                actor,
                "forget",
                f"customer #{tag}: {n_invitations} invitation(s), {n_responses} response(s), "
                f"{n_cases} case(s)",
            )
        if n_invitations or n_cases:
            self._purge()
        return ForgetResult(n_invitations, n_responses, n_drafts, n_cases)

    def _purge(self) -> None:
        """Leave no copy of deleted rows in the database files (after an erasure)."""
        if not self._sqlite:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # FULL rewrites the tables and their indexes into new files: a plain
                # VACUUM marks the space free but leaves the old bytes in the pages.
                # It locks the tables while it runs (about a second per 100,000
                # answers), so submissions wait that long.
                conn.exec_driver_sql(
                    "VACUUM FULL responses, drafts, invitations, cases, case_notes, notifications"
                )
                _retire_wal(conn)
            return
        with self._write_lock:
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA incremental_vacuum")
                cursor.fetchall()
                deadline = time.monotonic() + 10
                while True:  # other workers' readers can hold the WAL for a moment
                    busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    if not busy or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                cursor.close()
            finally:
                raw.close()

    def _read_snapshot(self, read: Any) -> Any:
        """Run ``read(connection)`` in a read-only snapshot that never blocks submissions.

        SQLite (WAL) readers see the last commit before they started while writers
        go on; PostgreSQL uses a repeatable-read, read-only transaction.
        """
        options: dict[str, Any] = {}
        if not self._sqlite:
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with self.engine.connect().execution_options(**options) as connection:
            with connection.begin():
                return read(connection)

    def audit_event(self, actor: str, action: str, detail: str) -> None:
        """Write one entry to the audit log (e.g. a client blocked after failed attempts)."""
        with self._write() as connection:
            self._audit(connection, actor, action, detail)

    def audit_log(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest audit entries: ts, actor, action, detail."""
        table = m.audit_log
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table.c.ts, table.c.actor, table.c.action, table.c.detail)
                .order_by(table.c.id.desc())
                .limit(limit)
            ).all()
        return [{**row._mapping, "ts": _utc(row.ts).isoformat()} for row in rows]

    def counts(self) -> dict[str, int]:
        """Rows per table: invitations, responses, drafts."""
        with self.engine.connect() as connection:
            return {
                name: int(
                    connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                )
                for name, t in (
                    ("invitations", m.invitations),
                    ("responses", m.responses),
                    ("drafts", m.drafts),
                )
            }

    @staticmethod
    def _audit(connection: Connection, actor: str, action: str, detail: str) -> None:
        connection.execute(
            m.audit_log.insert().values(
                ts=_now(), actor=actor[:MAX_FIELD_CHARS], action=action, detail=detail
            )
        )


# The statements of the submit path, built once (building them per request cost
# about a fifth of a submission's CPU time).
_OPEN_INVITATION = (
    sa.select(
        m.invitations,
        m.responses.c.id.label("response_id"),
        m.responses.c.submitted_at,
        m.responses.c.digest,
        m.drafts.c.answers.label("draft"),
    )
    .select_from(
        m.invitations.outerjoin(
            m.responses, m.responses.c.invitation_id == m.invitations.c.id
        ).outerjoin(m.drafts, m.drafts.c.invitation_id == m.invitations.c.id)
    )
    .where(m.invitations.c.id == sa.bindparam("invitation_id"))
)
_LOCK_INVITATION = (
    sa.select(m.invitations.c.id)
    .where(m.invitations.c.id == sa.bindparam("invitation_id"))
    .with_for_update()
)
_COUNT_USE = (
    m.invitations.update()
    .where(m.invitations.c.id == sa.bindparam("invitation_id"))
    .values(uses=m.invitations.c.uses + 1)
)


def _retire_wal(connection: Connection) -> bool:
    """Let PostgreSQL retire the write-ahead log that holds erased rows, if the role may.

    The deleted rows (and full-page images of their pages) stay in the WAL
    segments written since they were stored. ``pg_switch_wal()`` closes the
    current segment and ``CHECKPOINT`` makes every older one unneeded, so the
    checkpoint removes them (or, with the server's ``wal_recycle = on``, renames
    them for reuse, their old bytes kept until overwritten). Both need rights a
    service role usually lacks (``pg_checkpoint`` membership, EXECUTE on
    ``pg_switch_wal``); without them nothing is done and the erasure is logged
    as leaving WAL behind (docs/survey.md says what a DBA can grant). Returns
    whether both ran.
    """
    allowed = connection.exec_driver_sql(
        "SELECT pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') "
        "AND has_function_privilege('pg_switch_wal()', 'EXECUTE')"
    ).scalar_one()
    if not allowed:
        log.warning(
            "erased rows stay in PostgreSQL's write-ahead log until it is recycled: grant "
            "the service role pg_checkpoint and EXECUTE on pg_switch_wal() to retire it"
        )
        return False
    connection.exec_driver_sql("SELECT pg_switch_wal()")
    connection.exec_driver_sql("CHECKPOINT")
    return True


def _seeds(connection: Connection) -> dict[str, str]:
    """The link-signing seeds in the database, by key (``secret``, ``previous_secret``)."""
    meta = m.survey_meta
    query = sa.select(meta.c.key, meta.c.value).where(meta.c.key.in_(SECRET_KEYS))
    return {str(key): str(value) for key, value in connection.execute(query)}


def _insert(engine: Engine) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update`` (SQLite and PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(m.drafts)
    return sqlite.insert(m.drafts)


def _event_key(invitation: Invitation) -> tuple[str, str, str, datetime]:
    return (invitation.customer_id, invitation.journey_id, invitation.touchpoint, invitation.ts)


def _row_invitation(row: Any, token: str) -> Invitation:
    return Invitation(
        id=row.id,
        token=token,
        customer_id=row.customer_id,
        journey_id=row.journey_id,
        touchpoint=row.touchpoint,
        questionnaire=row.questionnaire,
        ts=_utc(row.event_ts),
        expires_at=_utc(row.expires_at),
        lang=row.lang,
        channel=row.channel,
    )


def _invitation_row(invitation: Invitation, created_at: datetime, actor: str) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "customer_id": invitation.customer_id,
        "journey_id": invitation.journey_id,
        "touchpoint": invitation.touchpoint,
        "questionnaire": invitation.questionnaire,
        "event_ts": invitation.ts,
        "channel": invitation.channel,
        "lang": invitation.lang,
        "created_at": created_at,
        "expires_at": invitation.expires_at,
        "created_by": actor[:MAX_FIELD_CHARS],
    }


def _role_columns(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> dict[str, Any]:
    """The typed columns of a response: numbers for success/effort/emotion/overall, text else."""
    columns: dict[str, Any] = {}
    for role, column in (
        ("overall", "overall"),
        ("success", "success"),
        ("effort", "effort"),
        ("emotion", "emotion"),
    ):
        question = questionnaire.by_role(role)
        if question is not None:
            columns[column] = question.number(answers.get(question.id))
    feelings = questionnaire.by_role("feelings")
    if feelings is not None and feelings.id in answers:
        value = answers[feelings.id]
        columns["feelings"] = ";".join(value) if isinstance(value, list) else str(value)
    comment = questionnaire.by_role("comment")
    if comment is not None and comment.id in answers:
        columns["comment"] = str(answers[comment.id])
    return columns
