"""Widget figures from database sums and incremental comment counts equal the figures
computed answer by answer."""

from __future__ import annotations

import dataclasses
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from peakend.dashboard import aggregate
from peakend.dashboard.aggregate import Cell, DayCells, EndingCounts, day_cells, week_of, weekly
from peakend.dashboard.widgets import WidgetCache
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, invitation_request

SCORES = [1, 5, 3, 4, 2, 5, 5, 1, 3, 4, 2, 2]


def calls() -> tuple[list[list[str]], object]:
    seen: list[list[str]] = []

    def endings(texts: list[str]) -> list[str | None]:
        seen.append(list(texts))
        return [
            "negative" if "boos" in t else "neutral" if "gaat" in t else "positive" for t in texts
        ]

    return seen, endings


def fill(store: SurveyStore, start: int = 0) -> list[tuple[str, datetime, int, str]]:
    """Answers over three weeks at two touchpoints; returns (touchpoint, ts, score, comment)."""
    base = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)  # a Monday, late: days in UTC matter
    out = []
    for n, score in enumerate(SCORES, start=start):
        touchpoint = "delivery" if n % 3 else "first_invoice"
        ts = base + timedelta(days=2 * (n % 10), minutes=n)
        request = dataclasses.replace(invitation_request(n, touchpoint), ts=ts)
        (invitation,) = store.invite([request], actor="test")
        comment = ["Ik ben boos", "Het gaat", "Prima"][n % 3]
        answers = {**ANSWERS, "comment": comment}
        if touchpoint == "delivery":
            answers["overall"] = score
        else:
            answers = {"clear": "clear", "effort": 3, "feeling": "calm", "overall": score}
            answers["comment"] = comment
        store.submit(invitation.token, answers)
        out.append((touchpoint, ts, score, comment))
    return out


def test_sums_equal_answer_by_answer(store: SurveyStore) -> None:
    answers = fill(store)
    store.invite([invitation_request(99)], actor="test")  # invited, never answered
    weeks = weekly(store.read_snapshot(day_cells))
    expected: dict[tuple[str, str], list[int]] = {}
    for touchpoint, ts, score, _ in answers:
        expected.setdefault((touchpoint, week_of(ts.date().isoformat())), []).append(score)
    scored = {k: c for k, c in weeks.items() if c.n}
    assert set(scored) == set(expected)
    for key, values in expected.items():
        cell = scored[key]
        assert cell.n == len(values) and cell.mean == pytest.approx(statistics.mean(values))
        if len(values) > 1:
            assert cell.variance == pytest.approx(statistics.variance(values))
    assert sum(c.invited for c in weeks.values()) == len(answers) + 1
    assert sum(c.answers for c in weeks.values()) == len(answers)


def test_endings_are_counted_once_and_incrementally(store: SurveyStore) -> None:
    seen, endings = calls()
    answers = fill(store)
    counts = EndingCounts(endings)  # type: ignore[arg-type]
    counts.update(store.read_snapshot)
    negative = sum(1 for a in answers if a[3] == "Ik ben boos")
    assert sum(c["negative"] for c in counts.counts.values()) == negative
    assert sum(len(s) for s in seen) == len(answers)
    counts.update(store.read_snapshot)  # nothing new: nothing scored again
    assert sum(len(s) for s in seen) == len(answers)
    more = fill(store, start=100)
    counts.update(store.read_snapshot)
    assert sum(len(s) for s in seen) == len(answers) + len(more)
    total = sum(sum(c.values()) for c in counts.counts.values())
    assert total == len(answers) + len(more)


def test_erasure_rebuilds_the_counts(store: SurveyStore) -> None:
    _, endings = calls()
    fill(store)
    counts = EndingCounts(endings)  # type: ignore[arg-type]
    counts.update(store.read_snapshot)
    before = sum(sum(c.values()) for c in counts.counts.values())
    store.forget_customer("C1", actor="test")
    counts.update(store.read_snapshot)
    assert sum(sum(c.values()) for c in counts.counts.values()) == before - 1


def test_widget_cache_rows(store: SurveyStore) -> None:
    _, endings = calls()
    answers = fill(store)
    cache = WidgetCache(store, endings=endings)  # type: ignore[arg-type]
    cache.refresh()
    trend = cache.get("score_trend")
    assert trend is not None and trend.n_answers == len(answers)
    delivery = [r for r in trend.rows if r["touchpoint"] == "delivery"]
    assert delivery[0]["change"] is None and delivery[1]["change"] == pytest.approx(
        delivery[1]["mean"] - delivery[0]["mean"]
    )
    ending = cache.get("endings")
    assert ending is not None
    assert sum(r["answers"] for r in ending.rows) == len(answers)


def same(a: dict[tuple[str, str], Cell], b: dict[tuple[str, str], Cell]) -> bool:
    keys = {k for k, c in a.items() if c.invited} | {k for k, c in b.items() if c.invited}
    return all(
        (a[k].invited, a[k].answers, a[k].n, a[k].total, a[k].squares)
        == (b[k].invited, b[k].answers, b[k].n, b[k].total, b[k].squares)
        for k in keys
    )


def test_incremental_sums_equal_full_sums(
    store: SurveyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aggregate, "LOOKBACK", 3)
    monkeypatch.setattr(aggregate, "MARGIN_S", 0.0)
    days = DayCells()
    fill(store)
    assert same(days.update(store.read_snapshot), store.read_snapshot(day_cells))
    fill(store, start=100)
    store.invite([invitation_request(500)], actor="test")
    assert same(days.update(store.read_snapshot), store.read_snapshot(day_cells))
    assert days.rebuilds == 1 and days.id_floor > 0  # the second update was incremental
    store.forget_customer("C101", actor="test")  # an erasure: the totals check rebuilds
    assert same(days.update(store.read_snapshot), store.read_snapshot(day_cells))
    assert days.rebuilds == 2


def test_a_late_commit_below_the_floors_is_caught(store: SurveyStore) -> None:
    fill(store)
    days = DayCells()
    days.update(store.read_snapshot)
    days.base[("delivery", "2025-03-03")] = Cell(invited=1)  # a sum that disagrees
    assert same(days.update(store.read_snapshot), store.read_snapshot(day_cells))
    assert days.rebuilds == 2


def test_a_filter_that_keeps_everything_gives_the_unfiltered_figures(store: SurveyStore) -> None:
    """The unfiltered widgets come from the sums, filtered ones from the answers: the
    two paths agree when the filter keeps every answer."""
    from peakend.dashboard.filters import NO_FILTER, Filter

    fill(store)
    store.invite([invitation_request(99)], actor="test")  # invited, never answered
    _, endings = calls()
    cache = WidgetCache(store, endings=endings)  # type: ignore[arg-type]
    everything = Filter(period="2000-01-01..2099-12-31")
    assert cache.get("responses", everything) is None  # queued for the background
    cache.refresh()
    for name in ("responses", "score_trend", "endings", "verbatims"):
        unfiltered, filtered = cache.get(name, NO_FILTER), cache.get(name, everything)
        assert unfiltered is not None and filtered is not None, name
        assert rounded(unfiltered.rows) == rounded(filtered.rows), name
        assert unfiltered.rows, name


def rounded(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows with floats to 9 decimals (sums of squares and plain sums differ in the last bits)."""
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]
