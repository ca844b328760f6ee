"""The survey store on SQLite and PostgreSQL: links, idempotent answers, erasure, export."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

import peakend
from peakend.errors import SourceError
from peakend.survey import models as m
from peakend.survey.database import make_engine, upgrade
from peakend.survey.errors import (
    AccessError,
    AlreadyAnsweredError,
    AnswerError,
    ExpiredLinkError,
    InvalidLinkError,
)
from peakend.survey.export import database_spec_text, export_events
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import SurveyStore
from peakend.survey.tokens import sign_token

from .conftest import ANSWERS, invitation_request


def test_a_submission_is_stored_once_and_repeating_it_is_idempotent(store: SurveyStore) -> None:
    (invitation,) = store.invite([invitation_request()], actor="test")
    first = store.submit(invitation.token, ANSWERS)
    again = store.submit(invitation.token, {**ANSWERS, "effort": "2"})  # same answer as text
    assert not first.duplicate and again.duplicate
    assert again.response_id == first.response_id
    assert store.counts()["responses"] == 1
    with pytest.raises(AlreadyAnsweredError, match="already been answered"):
        store.submit(invitation.token, {**ANSWERS, "overall": 1})
    assert store.form(invitation.token).answered


def test_concurrent_submissions_of_one_link_store_one_answer(store: SurveyStore) -> None:
    (invitation,) = store.invite([invitation_request()], actor="test")
    receipts, errors = [], []

    def submit() -> None:
        try:
            receipts.append(store.submit(invitation.token, ANSWERS))
        except Exception as exc:  # collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({r.response_id for r in receipts}) == 1
    assert sum(not r.duplicate for r in receipts) == 1
    assert store.counts()["responses"] == 1


def test_role_columns_hold_success_effort_emotion_and_score(store: SurveyStore) -> None:
    (invitation,) = store.invite([invitation_request()], actor="test")
    store.submit(
        invitation.token, {**ANSWERS, "success": "partly", "feelings": ["happy", "relieved"]}
    )
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(m.responses)).one()
    assert (row.overall, row.success, row.effort, row.emotion) == (5.0, 0.5, 2.0, 4.0)
    assert row.feelings == "happy;relieved" and row.comment == "Prima"


def test_forged_altered_and_expired_links_are_refused(
    store: SurveyStore, questionnaires: dict[str, Questionnaire]
) -> None:
    (invitation,) = store.invite([invitation_request()], actor="test")
    with pytest.raises(InvalidLinkError):
        store.submit("not-a-token", ANSWERS)
    body, _, signature = invitation.token.rpartition(".")
    with pytest.raises(InvalidLinkError):
        store.submit(f"{body}.{signature[::-1]}", ANSWERS)
    later = invitation.token.split(".")
    with pytest.raises(InvalidLinkError):  # a longer expiry breaks the signature
        store.submit(f"{later[0]}.{int(later[1]) + 86400}.{later[2]}", ANSWERS)
    with pytest.raises(InvalidLinkError):  # right format, signed with another secret
        store.submit(sign_token("another secret", later[0], int(later[1])), ANSWERS)
    short = SurveyStore(store.engine, questionnaires, ttl_days=-1)
    (expired,) = short.invite([invitation_request(2)], actor="test")
    with pytest.raises(ExpiredLinkError):
        store.submit(expired.token, ANSWERS)
    assert store.counts()["responses"] == 0


def test_missing_and_out_of_range_answers_are_listed(store: SurveyStore) -> None:
    (invitation,) = store.invite([invitation_request()], actor="test")
    bad = {"success": "maybe", "effort": 9, "overall": "five", "comment": "x" * 2001, "extra": 1}
    with pytest.raises(AnswerError) as caught:
        store.submit(invitation.token, bad)
    assert set(caught.value.errors) == {
        "success",
        "effort",
        "emotion",
        "overall",
        "comment",
        "extra",
    }
    assert "outside 1–7" in caught.value.errors["effort"]
    assert store.counts()["responses"] == 0


def test_drafts_keep_partial_answers_until_submission(store: SurveyStore) -> None:
    (invitation,) = store.invite([invitation_request()], actor="test")
    assert store.save_draft(invitation.token, {"overall": "4", "comment": ""}) == {"overall": 4}
    assert store.form(invitation.token).draft == {"overall": 4}
    with pytest.raises(AnswerError):
        store.save_draft(invitation.token, {"overall": 11})
    store.submit(invitation.token, ANSWERS)
    assert store.counts()["drafts"] == 0
    with pytest.raises(AlreadyAnsweredError):
        store.save_draft(invitation.token, {"overall": 4})


def test_invitations_need_a_questionnaire_and_valid_fields(store: SurveyStore) -> None:
    with pytest.raises(AnswerError) as caught:
        store.invite(
            [invitation_request(1, "unknown_touchpoint"), invitation_request(2, lang="de")],
            actor="test",
        )
    assert set(caught.value.errors) == {"row 1", "row 2"}
    assert "no questionnaire for touchpoint 'unknown_touchpoint'" in caught.value.errors["row 1"]
    assert store.counts()["invitations"] == 0  # all or nothing


def test_links_are_unguessable_and_distinct(store: SurveyStore) -> None:
    invitations = store.invite([invitation_request(n) for n in range(50)], actor="test")
    ids = {i.id for i in invitations}
    assert len(ids) == 50 and all(len(i) >= 22 for i in ids)


def test_api_keys_are_stored_hashed_and_checked(store: SurveyStore) -> None:
    key = store.add_api_key("crm")
    assert store.authenticate(key) == "key:crm"
    with store.engine.connect() as connection:
        stored = connection.execute(sa.select(m.api_keys.c.hash)).scalar_one()
    secret = key.split("_", 2)[2]  # pk_<id>_<secret>; the secret may itself hold "_"
    assert secret and secret not in stored
    for wrong in (None, "", key[:-1] + ("A" if key[-1] != "A" else "B"), "pk_x_y", "Bearer"):
        with pytest.raises(AccessError):
            store.authenticate(wrong)


def test_forgetting_a_customer_erases_everything_and_is_audited(store: SurveyStore) -> None:
    mine = store.invite([invitation_request(1), invitation_request(1, "service_call")], actor="a")
    other = store.invite([invitation_request(2)], actor="a")
    store.submit(mine[0].token, ANSWERS)
    store.save_draft(mine[1].token, {"recommend": 3})
    store.submit(other[0].token, ANSWERS)
    result = store.forget_customer("C1", actor="dpo")
    assert result.to_dict() == {"invitations": 2, "responses": 1, "drafts": 1, "cases": 0}
    assert store.counts() == {"invitations": 1, "responses": 1, "drafts": 0}
    with pytest.raises(InvalidLinkError):
        store.form(mine[0].token)
    entry = store.audit_log(limit=1)[0]
    assert entry["actor"] == "dpo" and entry["action"] == "forget"
    assert "C1" not in entry["detail"]


def test_export_and_database_spec_load_into_peakend(
    store: SurveyStore, db: str, tmp_path: Path
) -> None:
    invitations = store.invite(
        [invitation_request(n) for n in range(3)] + [invitation_request(1, "service_call")],
        actor="test",
    )
    store.submit(invitations[0].token, ANSWERS)
    store.submit(invitations[1].token, {**ANSWERS, "overall": 1, "comment": '=HYPERLINK("x")'})
    store.submit(
        invitations[3].token, {"resolved": "no", "effort": 3, "feeling": "angry", "recommend": 0}
    )
    result = export_events(store, tmp_path / "export", actor="analyst")
    assert (result.n_events, result.n_answered) == (4, 3)
    table = pq.read_table(result.events_path)
    assert table.num_rows == 4 and table.column("text").to_pylist().count('=HYPERLINK("x")') == 1
    for spec_path in (result.spec_path, tmp_path / "db.toml"):
        if spec_path.name == "db.toml":
            spec_path.write_text(database_spec_text(store, db), encoding="utf-8")
        dataset = peakend.load(spec_path)
        events = dataset.events.to_pandas().sort_values(["journey_id", "ts"])
        assert len(events) == 4 and set(events["journey_id"]) == {"J0", "J1", "J2"}
        valence = dict(
            zip(events["touchpoint"] + events["journey_id"], events["valence"], strict=True)
        )
        assert valence["deliveryJ0"] == pytest.approx(1.0)  # 5 on 1–5
        assert valence["deliveryJ1"] == pytest.approx(-1.0)  # 1 on 1–5
        assert valence["service_callJ1"] == pytest.approx(-1.0)  # 0 on 0–10
        assert events["valence"].isna().sum() == 1  # J2 not answered: unscored event
    actions = [e["action"] for e in store.audit_log()]
    assert actions.count("export") == 1


def test_a_store_refuses_a_database_without_the_schema(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="peakend survey init"):
        SurveyStore(make_engine(tmp_path / "empty.db"), {})


def test_sqlite_runs_in_wal_mode_with_full_sync(
    tmp_path: Path, questionnaires: dict[str, Questionnaire]
) -> None:
    store = SurveyStore.open(tmp_path / "s.db", questionnaires)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    expires = store.invite([invitation_request()], actor="t")[0].expires_at
    assert timedelta(days=13) < expires - datetime.now(UTC) <= timedelta(days=14)


def test_a_revoked_key_stops_working(store: SurveyStore) -> None:
    key = store.add_api_key("temp")
    key_id = key.split("_")[1]
    assert store.revoke_api_key(key_id, actor="admin")
    with pytest.raises(AccessError):
        store.authenticate(key)
    assert not store.revoke_api_key(key_id)
    assert store.audit_log(limit=1)[0]["action"] == "revoke-key"


def test_processes_starting_together_migrate_once(db: str) -> None:
    engines = [make_engine(db) for _ in range(4)]
    revisions: list[str] = []
    threads = [threading.Thread(target=lambda e=e: revisions.append(upgrade(e))) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert revisions == ["0005"] * 4
    for engine in engines:
        engine.dispose()


def test_inviting_again_for_the_same_event_returns_the_same_link(
    store: SurveyStore, questionnaires: dict[str, Questionnaire]
) -> None:
    first = store.invite([invitation_request(1), invitation_request(2)], actor="crm")
    again = store.invite(
        [invitation_request(2), invitation_request(3), invitation_request(3)], actor="crm"
    )
    assert [i.created for i in first] == [True, True]
    assert [i.created for i in again] == [False, True, True]
    assert again[0].token == first[1].token and again[1].token == again[2].token
    assert store.counts()["invitations"] == 3
    assert store.audit_log(limit=1)[0]["detail"] == "1 new, 1 existing"

    expired = SurveyStore(store.engine, questionnaires, ttl_days=-1)
    (old,) = expired.invite([invitation_request(4)], actor="crm")
    (renewed,) = store.invite([invitation_request(4)], actor="crm")
    assert renewed.id == old.id and renewed.token != old.token and not renewed.created
    with pytest.raises(ExpiredLinkError):
        store.form(old.token)
    store.submit(renewed.token, ANSWERS)
    assert store.counts() == {"invitations": 4, "responses": 1, "drafts": 0}


def test_concurrent_invitations_for_one_event_give_one_link(store: SurveyStore) -> None:
    links: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: links.extend(
                i.token for i in store.invite([invitation_request(7)], actor="a")
            )
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(links) == 6 and len(set(links)) == 1
    assert store.counts()["invitations"] == 1


def test_rotating_the_secret_keeps_the_last_generation_of_links(
    store: SurveyStore,
    questionnaires: dict[str, Questionnaire],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = SurveyStore(store.engine, questionnaires)  # e.g. a second worker process
    (old,) = store.invite([invitation_request(1)], actor="a")
    store.rotate_secret(actor="admin")
    (new,) = store.invite([invitation_request(2)], actor="a")
    assert store.form(old.token).invitation.id == old.id  # signed with the previous secret
    monkeypatch.setattr("peakend.survey.store.SECRET_RELOAD_S", 0.0)
    assert other.form(new.token).invitation.id == new.id  # picked up the new secret
    store.rotate_secret(actor="admin")
    with pytest.raises(InvalidLinkError):
        store.form(old.token)
    assert store.form(new.token).invitation.id == new.id
    assert store.audit_log(limit=1)[0]["action"] == "rotate-secret"
