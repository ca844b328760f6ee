"""The closed loop: dashboard users and sessions, cases opened by alert rules, case notes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("units", sa.Text, nullable=False),
        sa.Column("password", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("disabled_at", TZ),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_name",
            sa.String(200),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("response_id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("journey_id", sa.String(200), nullable=False),
        sa.Column("touchpoint", sa.String(200), nullable=False),
        sa.Column("questionnaire", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("first_response_at", TZ),
        sa.Column("escalated_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("root_cause", sa.Text),
    )
    op.create_index("ix_cases_customer_id", "cases", ["customer_id"])
    op.create_index("ix_cases_unit", "cases", ["unit"])
    op.create_index("uq_cases_rule_response", "cases", ["rule", "response_id"], unique=True)
    op.create_table(
        "alert_checks",
        sa.Column(
            "response_id",
            sa.Integer,
            sa.ForeignKey("responses.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("checked_at", TZ, nullable=False),
    )
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("ts", TZ, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("case_notes")
    op.drop_table("alert_checks")
    op.drop_table("cases")
    op.drop_table("sessions")
    op.drop_table("users")
