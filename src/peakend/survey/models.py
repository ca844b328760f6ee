"""The survey database: tables (SQLAlchemy Core) and the canonical events view.

The schema is created and upgraded only by the Alembic migrations shipped in
``peakend/survey/migrations``; these table objects are what the code queries
with. All times are UTC.

* ``survey_meta``: key/value settings of the store (the link-signing secret).
* ``invitations``: one per customer and touchpoint event (a unique key), the link's target,
  with its validity window, revocation and use count.
* ``responses``: at most one per invitation (a unique key), typed columns for
  the roles peakend analyses plus every answer as JSON.
* ``drafts``: partial answers saved while a form is being filled in.
* ``api_keys``: admin keys (hashes only), ``audit_log``: who did what, when.
* ``users``, ``sessions``, ``cases``, ``case_notes``, ``alert_checks`` (migration 0004): the
  dashboard's users and login sessions (hashes only), and the cases alert rules
  open on answers (see :mod:`peakend.cases`).
* ``notifications`` (migration 0005): the outbox of case e-mails and webhooks; users
  gain an ``email``, cases the follow-up invitation sent when they close.
* ``survey_events`` (a view): every invitation as a canonical event, with the
  answers when there are any — the table peakend reads.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = 64
NAME = 200

survey_meta = Table(
    "survey_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(NAME), nullable=False, index=True),
    Column("journey_id", String(NAME), nullable=False),
    Column("touchpoint", String(NAME), nullable=False),
    Column("questionnaire", String(NAME), nullable=False),
    Column("event_ts", DateTime(timezone=True), nullable=False),
    Column("channel", String(NAME)),
    Column("lang", String(8)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(NAME), nullable=False),
    # Checked on every request with the link (migration 0003): not before
    # ``valid_from``, never after ``revoked_at``; ``uses`` counts stored
    # submissions and drafts.
    Column("valid_from", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("uses", Integer, nullable=False, server_default="0"),
    Index("ix_invitations_created_at", "created_at"),  # migration 0005
    Index(
        "uq_invitations_event", "customer_id", "journey_id", "touchpoint", "event_ts", unique=True
    ),
)

responses = Table(
    "responses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "invitation_id",
        String(ID),
        ForeignKey("invitations.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("overall", Float),
    Column("success", Float),
    Column("effort", Float),
    Column("emotion", Float),
    Column("feelings", Text),
    Column("comment", Text),
    Column("answers", Text, nullable=False),
    Column("digest", String(64), nullable=False),
)

drafts = Table(
    "drafts",
    metadata,
    Column(
        "invitation_id",
        String(ID),
        ForeignKey("invitations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("answers", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("actor", String(NAME), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False),
)

# --- the closed loop (migration 0004) -------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("role", String(16), nullable=False),
    # Comma-separated units the user may see; "*" for every unit.
    Column("units", Text, nullable=False),
    Column("password", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("email", String(320)),  # migration 0005: where case notifications go
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(NAME), ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(NAME), nullable=False),
    Column("response_id", Integer, nullable=False),
    Column("customer_id", String(NAME), nullable=False, index=True),
    Column("journey_id", String(NAME), nullable=False),
    Column("touchpoint", String(NAME), nullable=False),
    Column("questionnaire", String(NAME), nullable=False),
    Column("unit", String(NAME), nullable=False, index=True),
    Column("owner", String(NAME)),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    # The triggering answers and comment, as JSON (erased with the customer).
    Column("trigger", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("first_response_at", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("root_cause", Text),
    # Migration 0005: the follow-up invitation sent when the case closed.
    Column("followup_invitation_id", String(ID)),
    Index("uq_cases_rule_response", "rule", "response_id", unique=True),
)

alert_checks = Table(
    "alert_checks",
    metadata,
    # One row per answer the alert rules have looked at: each answer is checked
    # exactly once even when several processes run the rules, and an answer whose
    # transaction commits after a later one (PostgreSQL) is still checked.
    Column(
        "response_id",
        Integer,
        ForeignKey("responses.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)

case_notes = Table(
    "case_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("author", String(NAME), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=False),
)

# --- notifications (migration 0005) ---------------------------------------------------

notifications = Table(
    "notifications",
    metadata,
    # The outbox: an e-mail or webhook per case event, written in the transaction
    # that changed the case and delivered (with retries) by a background thread,
    # so a stopped service or a failing receiver loses nothing. Erased with the case.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True),
    Column("channel", String(16), nullable=False),
    Column("target", Text, nullable=False),
    Column("event", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("delivered_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Index("ix_notifications_due", "delivered_at", "next_at"),
)

EVENTS_VIEW = "survey_events"
# Plain SQL that SQLite and PostgreSQL both run; column names are peakend's roles.
EVENTS_VIEW_SQL = f"""
CREATE VIEW {EVENTS_VIEW} AS
SELECT i.journey_id AS journey_id,
       i.customer_id AS customer_id,
       i.event_ts AS ts,
       i.touchpoint AS touchpoint,
       i.channel AS channel,
       r.overall AS score,
       r.success AS success,
       r.effort AS effort,
       r.emotion AS emotion,
       r.feelings AS feelings,
       r.comment AS text,
       COALESCE(r.lang, i.lang) AS lang,
       i.questionnaire AS questionnaire,
       r.submitted_at AS submitted_at
FROM invitations AS i
LEFT JOIN responses AS r ON r.invitation_id = i.id
"""
