"""PostgreSQL submissions through psycopg's pipeline mode (peakend.survey.pgsubmit).

The pipelined path must keep every guarantee of the general one: one answer per
link, the first receipt for a repeat, a refusal for different answers, no
draft beside a stored answer, no use counted for a refused submission, a race
with another writer settled by the unique key, and a lost connection reported
as "database unavailable" (nothing acknowledged) and then replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from peakend.survey import database, pgsubmit
from peakend.survey import models as m
from peakend.survey.errors import AlreadyAnsweredError, AnswerError, InvalidLinkError
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import Invitation, SurveyStore

from .conftest import ANSWERS, invitation_request

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_db: str, questionnaires: dict[str, Questionnaire]) -> Iterator[SurveyStore]:
    store = SurveyStore.open(postgres_db, questionnaires)
    yield store
    store.engine.dispose()


def _invite(store: SurveyStore, n: int = 1) -> Invitation:
    return store.invite([invitation_request(n)], actor="test")[0]


def _uses(store: SurveyStore, invitation: Invitation) -> int:
    with store.engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(m.invitations.c.uses).where(m.invitations.c.id == invitation.id)
            ).scalar_one()
        )


def test_postgres_submissions_take_the_pipelined_path(
    pg_store: SurveyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = pgsubmit.insert_and_commit

    def spy(*args: Any, **kwargs: Any) -> int:
        calls.append("insert")
        return original(*args, **kwargs)

    monkeypatch.setattr(pgsubmit, "insert_and_commit", spy)
    invitation = _invite(pg_store)
    pg_store.save_draft(invitation.token, {"overall": 4})
    receipt = pg_store.submit(invitation.token, ANSWERS)
    assert calls == ["insert"] and not receipt.duplicate
    assert pg_store.counts() == {"invitations": 1, "responses": 1, "drafts": 0}
    assert _uses(pg_store, invitation) == 2  # the draft and the submission


def test_repeats_and_refusals_store_nothing_and_count_no_use(pg_store: SurveyStore) -> None:
    invitation = _invite(pg_store)
    first = pg_store.submit(invitation.token, ANSWERS)
    again = pg_store.submit(invitation.token, ANSWERS)
    assert again.duplicate and again.response_id == first.response_id
    assert again.submitted_at == first.submitted_at
    with pytest.raises(AlreadyAnsweredError):
        pg_store.submit(invitation.token, {**ANSWERS, "overall": 1})
    other = _invite(pg_store, 2)
    with pytest.raises(AnswerError) as refused:
        pg_store.submit(other.token, {**ANSWERS, "overall": 9})
    assert "overall" in refused.value.errors
    assert pg_store.revoke_link(other.token, actor="test")
    with pytest.raises(InvalidLinkError):
        pg_store.submit(other.token, ANSWERS)
    assert _uses(pg_store, invitation) == 1 and _uses(pg_store, other) == 0
    assert pg_store.counts()["responses"] == 1


def test_a_race_with_another_writer_falls_back_to_the_general_path(
    pg_store: SurveyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    invitation = _invite(pg_store)
    original = pgsubmit.lock_and_read

    def read_then_race(connection: Any, read: str, invitation_id: str) -> Any:
        row = original(connection, read, invitation_id)
        # A writer that does not take the invitation's lock stores an answer now.
        with pg_store.engine.begin() as other:
            other.execute(
                m.responses.insert().values(
                    invitation_id=invitation_id,
                    submitted_at=row.expires_at,
                    lang="nl",
                    answers="{}",
                    digest="0" * 64,
                )
            )
        return row

    monkeypatch.setattr(pgsubmit, "lock_and_read", read_then_race)
    with pytest.raises(AlreadyAnsweredError):  # the general path sees the other answer
        pg_store.submit(invitation.token, ANSWERS)
    assert pg_store.counts()["responses"] == 1


def _terminate_pooled_connection(store: SurveyStore) -> None:
    raw = store.engine.raw_connection()
    pid = raw.driver_connection.info.backend_pid  # type: ignore[union-attr]
    raw.close()
    other = database.make_engine(store.engine.url.render_as_string(hide_password=False))
    with other.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


def test_a_lost_connection_is_reported_as_unavailable_then_replaced(
    pg_store: SurveyStore,
) -> None:
    first, second = _invite(pg_store, 1), _invite(pg_store, 2)
    pg_store.engine.dispose()  # from here on one pooled connection serves every call
    pg_store.submit(first.token, ANSWERS)
    _terminate_pooled_connection(pg_store)
    with pytest.raises(sa.exc.OperationalError):  # the service answers 503
        pg_store.submit(second.token, ANSWERS)
    assert pg_store.submit(second.token, ANSWERS).duplicate is False


def test_an_idle_connection_is_checked_before_use(
    pg_store: SurveyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_PING_S", 0.0)
    first, second = _invite(pg_store, 1), _invite(pg_store, 2)
    pg_store.engine.dispose()
    pg_store.submit(first.token, ANSWERS)
    _terminate_pooled_connection(pg_store)
    assert pg_store.submit(second.token, ANSWERS).duplicate is False


def test_the_pipelined_insert_names_every_answer_column() -> None:
    assert set(pgsubmit.RESPONSE_COLUMNS) == {c.name for c in m.responses.columns} - {"id"}


def test_the_postgres_pool_keeps_its_connections(pg_store: SurveyStore) -> None:
    pool: Any = pg_store.engine.pool
    assert pool.size() == database.POOL_SIZE and pool._max_overflow == 0


def test_connections_go_back_to_the_pool_without_autocommit(pg_store: SurveyStore) -> None:
    good, bad = _invite(pg_store, 1), _invite(pg_store, 2)
    pg_store.engine.dispose()
    pg_store.submit(good.token, ANSWERS)
    with pytest.raises(AnswerError):
        pg_store.submit(bad.token, {**ANSWERS, "overall": 9})
    raw = pg_store.engine.raw_connection()
    driver: Any = raw.driver_connection
    assert driver.autocommit is False and driver.info.transaction_status == 0  # IDLE
    raw.close()
