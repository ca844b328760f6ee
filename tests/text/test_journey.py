"""Comments into the journey: event columns and per-touchpoint emotion."""

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pytest

import peakend
from peakend.errors import MissingColumnError
from peakend.text import (
    TEXT_COLUMNS,
    CommentScore,
    add_text_emotions,
    score_comments,
    touchpoint_emotions,
)
from peakend.text.labels import EMOTIONS
from peakend.views import chart_rows

SPEC = Path(__file__).parent / "data" / "comments.toml"


@pytest.fixture(scope="module")
def data() -> peakend.Dataset:
    return peakend.load(SPEC)


class FixedScorer:
    """A stand-in scorer (the TextScorer protocol): every comment is angry at -0.5."""

    backend = "fixed"

    def score(self, texts: Sequence[str], *, lang: str = "auto") -> list[CommentScore]:
        real = score_comments(list(texts), backend="lexicon").comments
        angry = dict.fromkeys(EMOTIONS, 0.0) | {"anger": 1.0}
        return [
            CommentScore(
                c.text, c.lang, -0.5, "negative", angry, {}, (), c.sentences, False, "negative"
            )
            if c.valence is not None
            else c
            for c in real
        ]


def test_events_get_text_columns_and_keep_their_rows(data: peakend.Dataset) -> None:
    events = add_text_emotions(data, backend="lexicon")
    assert events.num_rows == data.events.num_rows
    assert events.column_names[-len(TEXT_COLUMNS) :] == list(TEXT_COLUMNS)
    rows = events.to_pylist()
    uncommented = [r for r in rows if not r["text"]]
    assert uncommented and all(r["text_valence"] is None for r in uncommented)
    invoice = next(r for r in rows if r["text"] == "The invoice is wrong again.")
    assert invoice["text_valence"] < 0 and invoice["pillar_integrity"] < 0


def test_valence_or_text_fills_unscored_events_only(data: peakend.Dataset) -> None:
    rows = add_text_emotions(data, backend="lexicon").to_pylist()
    for row in rows:
        if row["valence"] is not None:
            assert row["valence_or_text"] == row["valence"]
        else:
            assert row["valence_or_text"] == row["text_valence"]
    assert any(r["valence"] is None and r["valence_or_text"] is not None for r in rows)


def test_touchpoints_show_negative_endings_and_top_emotions(data: peakend.Dataset) -> None:
    result = touchpoint_emotions(data, backend="lexicon")
    names = [t.touchpoint for t in result.touchpoints]
    assert names == ["order", "installation", "first_invoice", "helpdesk"]  # catalogue order
    invoice = result.touchpoints[2]
    assert invoice.n_comments == 3
    assert invoice.ends_negative.value == 1.0 and invoice.ends_negative.low is not None
    helpdesk = result.touchpoints[3]
    assert helpdesk.effort.value == 0.5
    assert "integrity" in invoice.pillars and invoice.pillars["integrity"].n == 3
    assert result.to_dict()["touchpoints"][0]["touchpoint"] == "order"


def test_a_scorer_can_be_plugged_in(data: peakend.Dataset) -> None:
    result = touchpoint_emotions(data, scorer=FixedScorer())
    assert result.backend == "fixed"
    assert all(t.emotions["anger"].value == 1.0 for t in result.touchpoints)
    assert all(t.ends_negative.n == t.n_comments for t in result.touchpoints)
    assert all(t.valence.value == -0.5 for t in result.touchpoints)


def test_an_events_table_without_text_is_a_clear_error() -> None:
    table = pa.table({"journey_id": ["a"], "touchpoint": ["x"]})
    with pytest.raises(MissingColumnError, match="map your comment column"):
        add_text_emotions(table, backend="lexicon")


def test_the_chart_has_a_bar_per_emotion_present(data: peakend.Dataset) -> None:
    from peakend.views.emotions import emotion_chart

    result = touchpoint_emotions(data, backend="lexicon")
    bars = chart_rows(emotion_chart(result))
    present = {e for t in result.touchpoints for e, s in t.emotions.items() if s.value}
    assert {bar["emotion"] for bar in bars} == present
    assert "ends negative" in bars[0]["touchpoint"]


def test_with_text_valence_feeds_the_engine(data: peakend.Dataset) -> None:
    from peakend import engine
    from peakend.text import with_text_valence

    filled = with_text_valence(data, backend="lexicon")
    assert filled.events.num_rows == data.events.num_rows
    assert filled.events.column("score_valence").equals(data.events.column("valence"))
    con = engine.connect()
    before = engine.journey_features(engine.events_table(con, data.events)).to_pyarrow()
    after = engine.journey_features(engine.events_table(con, filled.events)).to_pyarrow()
    scored = dict(
        zip(before["journey_id"].to_pylist(), before["n_scored"].to_pylist(), strict=True)
    )
    for journey, n in zip(
        after["journey_id"].to_pylist(), after["n_scored"].to_pylist(), strict=True
    ):
        assert n >= scored[journey]
    assert sum(after["n_scored"].to_pylist()) > sum(before["n_scored"].to_pylist())
