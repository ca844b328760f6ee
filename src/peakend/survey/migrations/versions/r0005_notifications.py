"""Notifications and follow-ups: an outbox of e-mails and webhooks, users' addresses,
the follow-up invitation sent when a case closes, and an index on the invitations'
creation time (the dashboard adds new invitations to its sums).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(320)))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("followup_invitation_id", sa.String(64)))
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE")),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("next_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("delivered_at", TZ),
        sa.Column("failed_at", TZ),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_notifications_due", "notifications", ["delivered_at", "next_at"])
    op.create_index("ix_notifications_case", "notifications", ["case_id"])
    # The dashboard's widget sums add the invitations created since their last refresh.
    op.create_index("ix_invitations_created_at", "invitations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_invitations_created_at", "invitations")
    op.drop_table("notifications")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("followup_invitation_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
