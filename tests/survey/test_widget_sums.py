"""Filtered widgets from the day sums: a period of whole days and units are answered
from the sums per touchpoint and day, with the same figures as reading every answer;
only a segment filter reads the answers."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from peakend.dashboard.filters import Filter
from peakend.dashboard.widgets import WidgetCache
from peakend.survey.store import InvitationRequest, SurveyStore

from .conftest import ANSWERS

TODAY = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
PLUS_TWO = timezone(timedelta(hours=2))


def endings(texts: list[str]) -> list[str | None]:
    return ["negative" if "boos" in t else None if "hmm" in t else "positive" for t in texts]


def fill(store: SurveyStore) -> None:
    """Answers over 40 days at two touchpoints, some near midnight UTC or stamped in
    another time zone, some unanswered, with comments that end in each way."""
    requests, answers = [], []
    for n in range(120):
        day = TODAY - timedelta(days=n % 40)
        if n % 7 == 0:
            ts = day.replace(hour=23, minute=50)  # just before midnight UTC
        elif n % 7 == 1:
            ts = day.replace(hour=0, minute=10)  # just after
        elif n % 7 == 2:
            ts = day.replace(hour=1, minute=30).astimezone(PLUS_TWO)  # 03:30 at +02:00
        else:
            ts = day.replace(hour=9 + n % 8)
        touchpoint = "delivery" if n % 3 else "pickup"
        channel = "email" if n % 2 else "sms"
        requests.append(
            InvitationRequest(
                f"C{n}", f"J{n}", touchpoint, ts, channel=channel, questionnaire="delivery"
            )
        )
        comment = ("Ik ben boos", "Prima", "hmm", "")[n % 4]
        answers.append({**ANSWERS, "overall": 1 + n % 5, "comment": comment})
    invited = store.invite(requests, actor="test")
    for n, (invitation, answer) in enumerate(zip(invited, answers, strict=True)):
        if n % 11 != 5:  # some invitations stay unanswered
            store.submit(invitation.token, answer)


def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with floats rounded (sums of the database and of Python differ in the last bits)."""
    return [
        {k: round(v, 9) if isinstance(v, float) and not math.isnan(v) else v for k, v in r.items()}
        for r in rows
    ]


@pytest.mark.parametrize(
    "period",
    [
        "7d",
        "2w",
        f"{(TODAY - timedelta(days=20)).date()}..{(TODAY - timedelta(days=3)).date()}",
        f"..{(TODAY - timedelta(days=10)).date()}",
        f"{(TODAY - timedelta(days=5)).date()}..",
        "2020-01-01..2020-01-31",  # no answers
    ],
)
def test_a_whole_day_period_gives_the_same_figures_from_sums_and_rows(
    store: SurveyStore, period: str
) -> None:
    fill(store)
    cache = WidgetCache(store, endings=endings)
    cache.refresh()
    flt = Filter(period=period)
    assert cache._day_sums is not None
    from_sums = cache._from_sums(cache._day_sums, flt)
    from_rows = cache._compute(cache._read_rows(), flt)
    assert from_sums.keys() == from_rows.keys()
    for name, widget in from_sums.items():
        assert plain(widget.rows) == plain(from_rows[name].rows), name
        assert widget.n_answers == from_rows[name].n_answers, name
    if period.startswith("2020"):
        assert from_sums["score_trend"].rows == [] and from_sums["verbatims"].rows == []
    else:
        assert from_sums["score_trend"].rows and from_sums["endings"].rows


def test_a_period_filter_reads_no_answers_and_a_segment_filter_does(store: SurveyStore) -> None:
    fill(store)
    cache = WidgetCache(store, endings=endings)
    cache.refresh()
    week = Filter(period="7d", units=("delivery",))
    assert cache.get("score_trend", week) is None  # asked for: computed in the background
    cache.compute_pending()
    cache.refresh()
    assert cache._rows is None  # no answer was read for the period filter
    computed = cache.get("score_trend", week)
    assert computed is not None and computed.rows
    first = date.fromisoformat(min(r["period"] for r in computed.rows))
    assert first >= (TODAY - timedelta(days=13)).date()  # the Monday of 6 days ago, or later
    email = Filter(period="7d", segment="channel:email")
    assert cache.get("endings", email) is None
    cache.compute_pending()
    assert cache._rows is not None  # a segment is not in the sums: the answers were read
    by_segment = cache.get("endings", email)
    assert by_segment is not None
    every = cache.get("endings", Filter(period="7d"))
    assert every is not None
    assert sum(r["answers"] for r in by_segment.rows) < sum(r["answers"] for r in every.rows)
