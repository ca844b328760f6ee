"""Answers flow into the analysis unchanged: a synthetic journey log, surveyed and exported.

Every event of a small generated dataset becomes an invitation; every score (and
comment) is sent back as a questionnaire answer; the export and the database spec
then load into peakend with the same journeys, times, touchpoints, valences and
texts as the original, and the journey engine gives the same features. On SQLite
and on the PostgreSQL test server.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import peakend
from peakend.generate import GeneratorConfig, generate
from peakend.summary import summarize_journeys
from peakend.survey.export import database_spec_text, export_events
from peakend.survey.questionnaire import Questionnaire, parse_questionnaire
from peakend.survey.store import InvitationRequest, SurveyStore

KEY = ["journey_id", "ts", "touchpoint"]


def _features(journeys: pa.Table) -> pd.DataFrame:
    return journeys.to_pandas().set_index("journey_id")


def questionnaire_for(touchpoint: str) -> Questionnaire:
    return parse_questionnaire(
        {
            "touchpoint": touchpoint,
            "title": {"nl": touchpoint, "en": touchpoint},
            "questions": [
                {
                    "id": "score",
                    "role": "overall",
                    "kind": "scale",
                    "low": 1,
                    "high": 5,
                    "required": False,
                    "text": {"nl": "Hoe was het?", "en": "How was it?"},
                },
                {
                    "id": "comment",
                    "role": "comment",
                    "kind": "text",
                    "text": {"nl": "?", "en": "?"},
                },
            ],
        }
    )


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> peakend.Dataset:
    folder = tmp_path_factory.mktemp("roundtrip")
    config = dataclasses.replace(GeneratorConfig(), n_journeys=60, seed=5)
    return peakend.load(generate(folder, config, name="rt").spec_path)


def test_surveyed_scores_load_back_unchanged(
    original: peakend.Dataset, db: str, tmp_path: Path
) -> None:
    events = original.events.to_pandas()
    questionnaires = {tp: questionnaire_for(tp) for tp in events["touchpoint"].unique()}
    store = SurveyStore.open(db, questionnaires)
    requests = [
        InvitationRequest(
            customer_id=row.customer_id,
            journey_id=row.journey_id,
            touchpoint=row.touchpoint,
            ts=row.ts.to_pydatetime(),
            channel=None if pd.isna(row.channel) else row.channel,
        )
        for row in events.itertuples()
    ]
    invitations = store.invite(requests, actor="test")
    answers = [
        {
            k: v
            for k, v in (
                ("score", None if pd.isna(row.score) else int(row.score)),
                ("comment", None if pd.isna(row.text) else row.text),
            )
            if v is not None
        }
        for row in events.itertuples()
    ]
    jobs = [(i.token, a) for i, a in zip(invitations, answers, strict=True) if a]
    with ThreadPoolExecutor(16) as pool:  # concurrent, so that commits are shared
        list(pool.map(lambda job: store.submit(*job), jobs))

    result = export_events(store, tmp_path / "export", actor="test")
    assert (result.n_events, result.n_answered) == (len(events), len(jobs))
    db_spec = tmp_path / "db.toml"
    db_spec.write_text(database_spec_text(store, db), encoding="utf-8")
    expected = events[[*KEY, "customer_id", "channel", "valence", "text"]]
    expected = expected.sort_values(KEY, kind="stable").reset_index(drop=True)
    for spec in (result.spec_path, db_spec):
        surveyed = peakend.load(spec)
        got = surveyed.events.to_pandas()[expected.columns]
        got = got.sort_values(KEY, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False)

        before = _features(summarize_journeys(original).journeys)
        after = _features(summarize_journeys(surveyed).journeys)
        for column in ("n_events", "n_scored", "mean_valence", "end_valence", "trough_valence"):
            pd.testing.assert_series_equal(
                after[column].sort_index(), before[column].sort_index(), check_dtype=False
            )
    store.engine.dispose()
