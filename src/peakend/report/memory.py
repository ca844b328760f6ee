"""The remembered-experience section: how customers remember, and which endings spoil it."""

from __future__ import annotations

from typing import Any

from peakend.models.memory import MemoryResult, remembered_experience
from peakend.models.memory.models import BASELINE
from peakend.report.i18n import (
    TEXTS,
    Language,
    ci,
    interval,
    number,
    percent,
    percent_ci,
    text,
)
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section
from peakend.stats.resampling import Interval
from peakend.views.memory import journey_curve, journey_types, model_comparison
from peakend.views.save import to_spec

REFERENCES = (
    "Kahneman, D., Fredrickson, B. L., Schreiber, C. A. & Redelmeier, D. A. (1993). When more "
    "pain is preferred to less: adding a better end. Psychological Science 4(6), 401–405.",
    "Fredrickson, B. L. & Kahneman, D. (1993). Duration neglect in retrospective evaluations "
    "of affective episodes. Journal of Personality and Social Psychology 65(1), 45–55.",
    "Baumeister, R. F., Bratslavsky, E., Finkenauer, C. & Vohs, K. D. (2001). Bad is stronger "
    "than good. Review of General Psychology 5(4), 323–370.",
)

#: End spoilers shown in the table.
SPOILERS = 10


def memory_section(ctx: ReportContext) -> Section:
    """Run :func:`~peakend.models.memory.remembered_experience` and present it."""
    # the journey summary already holds the engine's journey features: not computed twice
    result = remembered_experience(ctx.dataset, outcome=ctx.outcome, features=ctx.summary.journeys)
    ctx.results["memory"] = result
    lang = ctx.lang
    paragraphs = [
        text("memory_intro", lang, outcome=result.outcome),
        _comparison_sentence(result, lang),
        *_ratio_sentences(result, lang),
    ]
    charts = [
        Chart("memory_types", text("types_title", lang), types_figure(result, lang)),
        Chart("memory_models", text("models_title", lang), models_figure(result, lang)),
        Chart("memory_journey", text("journey_title", lang), journey_figure(result, ctx)),
    ]
    tables = [_model_table(result, lang)]
    if result.spoilers:
        tables.append(_spoiler_table(result, lang))
    return Section(
        key="memory",
        title=text("memory", lang),
        paragraphs=tuple(paragraphs),
        charts=tuple(charts),
        tables=tuple(tables),
        summary=(summary_sentence(result, lang),),
        methods=(
            text(
                "method_memory",
                lang,
                folds=result.comparison.folds,
                seed=result.comparison.seed,
            ),
        ),
        references=REFERENCES,
        results=result.to_dict(),
    )


def types_figure(result: MemoryResult, lang: Language) -> dict[str, Any]:
    """Experienced vs remembered per journey type, titled in the report language."""
    return to_spec(journey_types(result, lang=lang, title=text("types_title", lang)))


def models_figure(result: MemoryResult, lang: Language) -> dict[str, Any]:
    """Out-of-sample score per memory model."""
    chart = model_comparison(
        result,
        lang=lang,
        title=text("models_title", lang),
        names={s.name: model_name(s.name, lang) for s in result.comparison.scores},
        metric=metric_name(result, lang),
    )
    return to_spec(chart)


def journey_figure(result: MemoryResult, ctx: ReportContext) -> dict[str, Any]:
    """The journey most spoiled by its end, drawn moment by moment."""
    chart = journey_curve(
        result, ctx.dataset, lang=ctx.lang, labels=ctx.labels, title=text("journey_title", ctx.lang)
    )
    return to_spec(chart)


def summary_sentence(result: MemoryResult, lang: Language) -> str:
    """One sentence on how customers remember: the end, the whole journey, or its average.

    The sentence follows the analysis' claim: nothing about peak or end without
    an experienced order, "no evidence yet" when the test is inconclusive, the
    average only when peak and end are shown to weigh less than the margin.
    """
    comparison = result.comparison
    claim = result.verdict.claim if result.verdict is not None else None
    if claim in ("no_order", "inconclusive"):
        return text(f"sum_memory_{claim}", lang)
    if claim == "average" or (claim is None and comparison.chosen == BASELINE):
        return text("sum_memory_average", lang)
    if comparison.chosen == BASELINE and result.verdict is not None:
        return text(
            "sum_memory_weights",
            lang,
            peak=ci(result.verdict.peak, lang),
            end=ci(result.verdict.end, lang),
        )
    if _peak_end_is_worse(result):
        return text(
            "sum_memory_whole",
            lang,
            outcome=result.outcome,
            metric=metric_name(result, lang).lower(),
            peak_end=ci(comparison.score_of("peak_end").score, lang, 3, sign=False),
            mean=ci(comparison.score_of(BASELINE).score, lang, 3, sign=False),
        )
    if comparison.chosen in ("peak_end", "end"):
        return text(
            "sum_memory_peak_end",
            lang,
            outcome=result.outcome,
            scored=scored(result, comparison.score_of(comparison.chosen).score, lang),
            mean=ci(comparison.score_of(BASELINE).score, lang, 3, sign=False),
        )
    end = _ratio(result, "end")
    overall = result.types[0] if result.types else None  # first row: all journeys
    if end is not None and overall is not None and end.low > 1 and end.high == end.high:
        return text(
            "sum_memory",
            lang,
            ratio=number(end.value, lang, 1),
            spoiled=percent(overall.spoiled_share.value, lang),
        )
    chosen = comparison.score_of(comparison.chosen)
    return text(
        "sum_memory_model",
        lang,
        chosen=model_name(comparison.chosen, lang),
        outcome=result.outcome,
        scored=scored(result, chosen.score, lang),
    )


def model_name(name: str, lang: Language) -> str:
    """What a memory model says customers remember, in plain words ("peak and end")."""
    key = f"memory_model_{name}"
    return text(key, lang) if key in TEXTS else name.replace("_", " ")


def metric_name(result: MemoryResult, lang: Language) -> str:
    """The out-of-sample score in plain words: separation score or prediction error."""
    return text(f"memory_metric_{result.comparison.metric}", lang)


def scored(result: MemoryResult, score: Interval, lang: Language) -> str:
    """``score`` with what it measures and how to read it, e.g. "a separation score of …"."""
    return text(
        f"memory_score_{result.comparison.metric}", lang, score=ci(score, lang, 3, sign=False)
    )


def _feature_name(feature: str, lang: Language) -> str:
    key = f"memory_feature_{feature}"
    return text(key, lang) if key in TEXTS else feature.replace("_", " ")


def _peak_end_is_worse(result: MemoryResult) -> bool:
    """Peak-end predicts significantly worse than the average alone (paired interval)."""
    names = {s.name for s in result.comparison.scores}
    if "peak_end" not in names:
        return False
    diff = result.comparison.score_of("peak_end").versus_baseline
    return diff.high < 0 if result.comparison.metric == "auc" else diff.low > 0


def _ratio(result: MemoryResult, moment: str) -> Interval | None:
    found = next((r for r in result.ratios if r.name == f"{moment}_vs_average_moment"), None)
    return found.estimate if found else None


def _comparison_sentence(result: MemoryResult, lang: Language) -> str:
    comparison = result.comparison
    chosen = comparison.score_of(comparison.chosen)
    base = comparison.score_of(BASELINE)
    return text(
        "memory_comparison",
        lang,
        folds=comparison.folds,
        n=number(comparison.n, lang),
        chosen=model_name(comparison.chosen, lang),
        scored=scored(result, chosen.score, lang),
        baseline=ci(base.score, lang, 3, sign=False),
    )


def _ratio_sentences(result: MemoryResult, lang: Language) -> list[str]:
    claim = result.verdict.claim if result.verdict is not None else None
    if claim in ("no_order", "inconclusive"):
        return [text(f"sum_memory_{claim}", lang)]
    if claim == "average" or (claim is None and result.comparison.chosen == BASELINE):
        return [text("memory_average", lang)]
    sentences = []
    for moment in ("end", "peak", "trough", "first"):
        ratio = _ratio(result, moment)
        if ratio is None or not (ratio.low == ratio.low and ratio.high == ratio.high):
            continue  # a Fieller interval without bounds: no ratio is stated
        bounds = f"[{number(ratio.low, lang, 1)}; {number(ratio.high, lang, 1)}]"
        sentences.append(
            text(
                "memory_ratio",
                lang,
                moment=text(f"moment_{moment}", lang),
                ratio=number(ratio.value, lang, 1),
                interval=bounds,
            )
        )
    return sentences


def _model_table(result: MemoryResult, lang: Language) -> ReportTable:
    metric = metric_name(result, lang)
    headers = (
        text("col_model", lang),
        text("col_features", lang),
        text("col_score", lang, metric=metric),
        text("col_vs_baseline", lang),
    )
    rows = tuple(
        (
            Cell(model_name(s.name, lang) + (" ✓" if s.name == result.comparison.chosen else "")),
            Cell(", ".join(_feature_name(f, lang) for f in s.features)),
            Cell(ci(s.score, lang, 3, sign=False), s.score.value),
            Cell(
                interval(
                    s.versus_baseline.value, s.versus_baseline.low, s.versus_baseline.high, lang, 3
                ),
                s.versus_baseline.value,
            ),
        )
        for s in result.comparison.scores
    )
    return ReportTable("memory-models", headers, rows, caption=text("sortable", lang))


def _spoiler_table(result: MemoryResult, lang: Language) -> ReportTable:
    headers = (
        text("col_final", lang),
        text("col_good", lang),
        text("col_spoiled", lang),
        text("col_gap", lang),
    )
    rows = tuple(
        (
            Cell(s.touchpoint),
            Cell(number(s.n_good, lang), s.n_good),
            Cell(percent_ci(s.spoiled_share, lang), s.spoiled_share.value),
            Cell(ci(s.mean_gap, lang), s.mean_gap.value),
        )
        for s in result.spoilers[:SPOILERS]
    )
    return ReportTable("end-spoilers", headers, rows, caption=text("spoilers_caption", lang))
