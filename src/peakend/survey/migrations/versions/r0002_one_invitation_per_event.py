"""One invitation per customer and touchpoint event: inviting again returns the same link.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ["customer_id", "journey_id", "touchpoint", "event_ts"]


def upgrade() -> None:
    op.create_index("uq_invitations_event", "invitations", COLUMNS, unique=True)


def downgrade() -> None:
    op.drop_index("uq_invitations_event", "invitations")
