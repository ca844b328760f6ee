"""After an erasure on PostgreSQL the write-ahead log is retired when the role may."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from peakend.survey.store import SurveyStore, _retire_wal

from .conftest import ANSWERS, invitation_request


class _Connection:
    """Records statements; answers the privilege check with ``allowed``."""

    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed
        self.statements: list[str] = []

    def exec_driver_sql(self, statement: str) -> Any:
        self.statements.append(statement)
        allowed = self.allowed

        class _Result:
            def scalar_one(self) -> bool:
                return allowed

        return _Result()


def test_a_privileged_role_switches_the_wal_segment_then_checkpoints() -> None:
    connection = _Connection(allowed=True)
    assert _retire_wal(connection) is True  # type: ignore[arg-type]
    assert connection.statements[1:] == ["SELECT pg_switch_wal()", "CHECKPOINT"]


def test_without_the_rights_nothing_runs_and_the_log_says_what_to_grant(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connection = _Connection(allowed=False)
    with caplog.at_level(logging.WARNING, logger="peakend.survey"):
        assert _retire_wal(connection) is False  # type: ignore[arg-type]
    assert len(connection.statements) == 1
    assert "pg_checkpoint" in caplog.text and "pg_switch_wal" in caplog.text


@pytest.mark.postgres
def test_forget_on_postgres_runs_the_privilege_check_on_a_real_server(
    postgres_db: str, questionnaires: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = SurveyStore.open(postgres_db, questionnaires)
    try:
        invitation = store.invite([invitation_request(1)], actor="test")[0]
        store.submit(invitation.token, ANSWERS)
        with caplog.at_level(logging.WARNING, logger="peakend.survey"):
            result = store.forget_customer("C1", actor="test")
        assert result.responses == 1 and store.counts()["responses"] == 0
    finally:
        store.engine.dispose()
