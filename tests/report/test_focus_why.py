"""The focus plan's "why" quotes the effect its gain rests on, not the moments table's.

On the demo (the generator's journeys with the peak-end memory on) a fix's gain
rests on the penalty over the journeys it moves, which differs from the
table's penalty over every journey that scored the touchpoint: the customers
who score one touchpoint low score others low too. The sentence next to the
gain must quote the former, in both report languages, and its interval must
hold the generator's truth over those journeys.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import replace
from typing import Any

import pytest

import peakend
from peakend.datasets import demo_dir, demo_spec_path
from peakend.errors import StatisticalWarning
from peakend.load import Dataset
from peakend.models.focus.gains import moved_effects
from peakend.models.moments import MomentSettings, MomentsResult, find_moments
from peakend.report.focus import MOMENTS_ACTIONS, focus_section, rank_moments_actions
from peakend.report.i18n import Language, number, text
from peakend.report.section import ReportContext, Section
from peakend.summary import summarize_journeys

#: The interval in a "why" sentence: "95 % interval 1.65 to 1.93" (Dutch: "tot", decimal comma).
INTERVAL = re.compile(r"interval (−?[\d.,]+) (?:to|tot) (−?[\d.,]+)")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return peakend.load(demo_spec_path())


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    touchpoints: dict[str, Any] = json.loads(
        (demo_dir() / "truth.json").read_text(encoding="utf-8")
    )["touchpoints"]
    return touchpoints


@pytest.fixture(scope="module", params=["overall", "satisfied"])
def moments(request: pytest.FixtureRequest, dataset: Dataset) -> MomentsResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        settings = MomentSettings(n_resamples=20, seed=1)
        return find_moments(dataset, outcome=request.param, settings=settings, segments=())


def _section(dataset: Dataset, moments: MomentsResult, lang: Language) -> Section:
    summary = summarize_journeys(dataset, outcome=moments.outcome)
    ctx = ReportContext(dataset, summary, lang, moments.outcome)
    ctx.results["moments"] = moments
    section = focus_section(ctx)
    assert isinstance(section, Section)
    return section


def _whys(section: Section) -> dict[tuple[str, str], str]:
    """The "why" cell of each fix and excel row, by (kind, touchpoint)."""
    plan = section.results["actions"]
    rows = section.tables[0].rows
    return {
        (a["kind"], a["touchpoint"]): row[-1].text
        for a, row in zip(plan, rows, strict=True)
        if a["kind"] in ("fix", "excel")
    }


def _parse(shown: str, lang: Language) -> float:
    """A number as :func:`number` wrote it in ``lang``."""
    thousands, decimal = (".", ",") if lang == "nl" else (",", ".")
    return float(shown.replace("−", "-").replace(thousands, "").replace(decimal, "."))


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_why_quotes_the_effect_over_the_journeys_moved(
    dataset: Dataset, moments: MomentsResult, truth: dict[str, Any], lang: Language
) -> None:
    section = _section(dataset, moments, lang)
    whys = _whys(section)
    assert len(whys) >= 3, "the demo plants moments of truth and excel moments"
    moved = moved_effects(dataset, moments, list(whys))
    assert moved is not None
    binary = moments.outcome_kind == "binary"
    scale, digits = (100.0, 0) if binary else (1.0, 2)
    key = "total_moved_satisfied" if binary else "total_moved"
    differ, covered = 0, 0
    for (kind, touchpoint), why in whys.items():
        moment = moments.by_name(touchpoint)
        sign = -1.0 if kind == "fix" else 1.0
        effect = moved[(kind, touchpoint)]
        table = moment.penalty if kind == "fix" else moment.reward
        shown = number(scale * sign * effect.value, lang, digits)
        table_shown = number(scale * sign * table.value, lang, digits)
        assert f" {shown} " in why, (why, shown)
        assert why.startswith(text(f"a_class_{moment.moment_class}", lang))
        # the interval quoted holds the generator's truth over the journeys moved
        found = INTERVAL.search(why)
        assert found is not None, why
        low, high = (_parse(found.group(i), lang) / scale for i in (1, 2))
        planted = sign * truth[touchpoint][key]["penalty" if kind == "fix" else "reward"]
        covered += low <= planted <= high
        if table_shown != shown:
            differ += 1
            assert f" {table_shown} " not in why, (why, table_shown)
    # the planted journeys make the two effects differ: the test would see the table's
    assert differ >= 2
    assert covered >= len(whys) - 1


def test_the_report_ranks_the_moments_actions_early_and_lets_their_inputs_go(
    dataset: Dataset,
) -> None:
    """Ranked right after the moments, the plan is the one the focus section builds alone.

    The report's moments keep their inputs for the focus plan
    (:func:`~peakend.report.focus.rank_moments_actions`), which then drops them
    from the moments result, so that they are not held through the later sections.
    """
    settings = MomentSettings(n_resamples=20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        kept = find_moments(
            dataset, outcome="overall", settings=settings, segments=(), keep_total_inputs=True
        )
    summary = summarize_journeys(dataset, outcome="overall")
    ctx = ReportContext(dataset, summary, "en", "overall")
    ctx.results["moments"] = kept
    rank_moments_actions(ctx)
    assert ctx.results["moments"].total_inputs is None
    assert MOMENTS_ACTIONS in ctx.results
    early = focus_section(ctx)
    assert isinstance(early, Section)
    assert MOMENTS_ACTIONS not in ctx.results  # taken by the section
    alone = _section(dataset, replace(kept, total_inputs=None), "en")
    assert json.dumps(early.results) == json.dumps(alone.results)
    assert early.tables == alone.tables
