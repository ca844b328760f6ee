"""The Alembic migrations shipped in the package: upgrade step by step and back down."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from peakend.survey import models as m
from peakend.survey.database import alembic_config, make_engine, upgrade


def test_migrations_upgrade_with_data_and_downgrade_to_nothing(db: str) -> None:
    engine = make_engine(db)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        now = datetime.now(UTC)
        connection.execute(
            m.invitations.insert().values(
                id="x",
                customer_id="C1",
                journey_id="J1",
                touchpoint="delivery",
                questionnaire="delivery",
                event_ts=now,
                created_at=now,
                expires_at=now,
                created_by="test",
            )
        )
    assert upgrade(engine) == "0005"
    with engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(m.invitations)).scalar() == 1
        )
        view = connection.execute(sa.text("SELECT journey_id, score FROM survey_events")).all()
    assert [tuple(row) for row in view] == [("J1", None)]
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    names = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    assert names == set()
    engine.dispose()
