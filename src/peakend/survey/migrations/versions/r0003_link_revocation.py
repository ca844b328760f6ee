"""Per-invitation revocation: a start time, a revocation time and a use count per link.

Every request with a link checks them in the database, so a revoked link is
refused at once on every worker, whatever its signature says.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from peakend.survey.models import EVENTS_VIEW, EVENTS_VIEW_SQL

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("valid_from", TZ))
        batch.add_column(sa.Column("revoked_at", TZ))
        batch.add_column(sa.Column("uses", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    # SQLite drops columns by copying the table, which the events view would block.
    op.execute(f"DROP VIEW {EVENTS_VIEW}")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("uses")
        batch.drop_column("revoked_at")
        batch.drop_column("valid_from")
    op.execute(EVENTS_VIEW_SQL)
