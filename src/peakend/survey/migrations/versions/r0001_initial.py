"""Initial survey store: invitations, responses, drafts, API keys, audit log, events view.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from peakend.survey.models import EVENTS_VIEW, EVENTS_VIEW_SQL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "survey_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("journey_id", sa.String(200), nullable=False),
        sa.Column("touchpoint", sa.String(200), nullable=False),
        sa.Column("questionnaire", sa.String(200), nullable=False),
        sa.Column("event_ts", TZ, nullable=False),
        sa.Column("channel", sa.String(200)),
        sa.Column("lang", sa.String(8)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_invitations_customer_id", "invitations", ["customer_id"])
    op.create_table(
        "responses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "invitation_id",
            sa.String(64),
            sa.ForeignKey("invitations.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("submitted_at", TZ, nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("overall", sa.Float),
        sa.Column("success", sa.Float),
        sa.Column("effort", sa.Float),
        sa.Column("emotion", sa.Float),
        sa.Column("feelings", sa.Text),
        sa.Column("comment", sa.Text),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "drafts",
        sa.Column(
            "invitation_id",
            sa.String(64),
            sa.ForeignKey("invitations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.execute(EVENTS_VIEW_SQL)


def downgrade() -> None:
    op.execute(f"DROP VIEW {EVENTS_VIEW}")
    for table in ("audit_log", "api_keys", "drafts", "responses", "invitations", "survey_meta"):
        op.drop_table(table)
