"""A survey's only comment is about the whole journey: the report says so, not "ends at Comment"."""

from __future__ import annotations

from pathlib import Path

import pytest

import peakend
from peakend.load import WIDE_COMMENT
from peakend.report.emotions import journey_comments, summary_sentence
from peakend.report.i18n import Language, percent_ci
from peakend.summary import Estimate
from peakend.text.journey import TouchpointEmotion, TouchpointEmotions

SPEC = """
name = "survey"
layout = "wide"
default_scale = "five"

[source]
path = "survey.csv"
format = "csv"

[columns]
journey_id = "ID"
text = "Comment"

[scales.five]
low = 1
high = 5

[outcomes.satisfied]
column = "Satisfied"
kind = "binary"
positive = ["yes"]
negative = ["no"]

[[touchpoints]]
name = "check_in"
column = "Check-in"

[[touchpoints]]
name = "seat"
column = "Seat"
"""


def _emotion(name: str, negative: float, n: int) -> TouchpointEmotion:
    share = Estimate(negative, negative - 0.05, negative + 0.05, n - 10)
    return TouchpointEmotion(
        touchpoint=name,
        n_comments=n,
        valence=Estimate(-0.1, -0.2, 0.0, n),
        ends_negative=share,
        emotions={"anger": Estimate(0.3, 0.25, 0.35, n)},
        pillars={},
        effort=Estimate(0.1, 0.05, 0.15, n),
    )


def test_a_wide_comment_column_is_about_the_whole_journey(tmp_path: Path) -> None:
    (tmp_path / "survey.csv").write_text(
        "ID,Check-in,Seat,Comment,Satisfied\n1,4,2,Seat was broken,no\n2,5,5,,yes\n",
        encoding="utf-8",
    )
    (tmp_path / "survey.toml").write_text(SPEC, encoding="utf-8")
    data = peakend.load(tmp_path / "survey.toml")
    assert WIDE_COMMENT in data.events["touchpoint"].to_pylist()
    assert journey_comments(data) == {WIDE_COMMENT}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", " of the comments about the whole journey end on a negative note (200 comments"),
        ("nl", " van de opmerkingen over de hele klantreis eindigt negatief (200 opmerkingen"),
    ],
)
def test_only_journey_comments_give_the_share_of_negative_ones(
    lang: Language, expected: str
) -> None:
    comments = _emotion(WIDE_COMMENT, 0.4, 200)
    result = TouchpointEmotions((comments,), "lexicon", 200)
    sentence = summary_sentence(result, lang, journey_level=frozenset({WIDE_COMMENT}))
    assert sentence is not None
    assert sentence.startswith(percent_ci(comments.ends_negative, lang) + expected)
    assert "most often" not in sentence and "vaakst" not in sentence


def test_touchpoint_comments_still_name_the_touchpoint() -> None:
    result = TouchpointEmotions(
        (_emotion("seat", 0.3, 100), _emotion(WIDE_COMMENT, 0.6, 200)), "lexicon", 300
    )
    sentence = summary_sentence(
        result, "en", {"seat": "Seat"}, journey_level=frozenset({WIDE_COMMENT})
    )
    assert sentence is not None and "most often at Seat" in sentence
