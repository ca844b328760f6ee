"""The emotions section: what customers feel per touchpoint, and how interactions end."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from peakend.load import WIDE_COMMENT, Dataset
from peakend.loading.events import commented_events
from peakend.report.i18n import Language, ci, number, percent, percent_ci, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section
from peakend.text.journey import TouchpointEmotion, TouchpointEmotions, touchpoint_emotions
from peakend.text.scoring import Backend
from peakend.views.emotions import emotion_chart
from peakend.views.save import to_spec
from peakend.views.words import word

REFERENCES = (
    "Demszky, D. et al. (2020). GoEmotions: a dataset of fine-grained emotions. ACL 2020.",
    "Öhman, E. et al. (2020). XED: a multilingual dataset for sentiment analysis and emotion "
    "detection. COLING 2020.",
    "Wang, L. et al. (2024). Multilingual E5 text embeddings: a technical report. "
    "arXiv:2402.05672.",
    "Wilson, E. B. (1927). Probable inference, the law of succession, and statistical "
    "inference. Journal of the American Statistical Association 22(158), 209–212.",
)

#: Fewest comments at a touchpoint before the summary names it.
MIN_COMMENTS = 30

#: Above this many distinct comments the report reads them with the lexicon (about
#: 20,000 comments/s) instead of the embedding model (300-600/s on 2 cores).
EMBEDDING_MAX_DISTINCT = 20_000


def emotions_section(ctx: ReportContext) -> Section:
    """Score the comments attached to events and summarise them per touchpoint."""
    distinct = pc.count_distinct(commented_events(ctx.dataset)["text"]).as_py()
    backend: Backend = "embedding" if distinct <= EMBEDDING_MAX_DISTINCT else "lexicon"
    result = touchpoint_emotions(ctx.dataset, backend=backend)
    ctx.results["emotions"] = result
    lang = ctx.lang
    whole = journey_comments(ctx.dataset)
    labels = {**ctx.labels, **{t: text("journey_comment", lang) for t in whole}}
    summary = summary_sentence(result, lang, labels, journey_level=whole)
    return Section(
        key="emotions",
        title=text("emotions", lang),
        paragraphs=(text("emotions_intro", lang, n=number(result.n_comments, lang)),),
        charts=(
            Chart("emotions", text("emotions_title", lang), emotions_figure(result, lang, labels)),
        ),
        tables=(_table(result, lang, labels),),
        summary=(summary,) if summary else (),
        methods=(text("method_emotions", lang), text("method_backend", lang, backend=backend)),
        references=REFERENCES,
        results=result.to_dict(),
    )


def emotions_figure(
    result: TouchpointEmotions, lang: Language, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """Top emotions per touchpoint as stacked shares, titled in the report language."""
    chart = emotion_chart(result, lang=lang, labels=labels, title=text("emotions_title", lang))
    return to_spec(chart)


def journey_comments(dataset: Dataset) -> frozenset[str]:
    """Touchpoints whose comments are about the whole journey, not one interaction.

    A wide survey export's journey-level comment column (``[columns] text``)
    becomes a last event :data:`~peakend.load.WIDE_COMMENT`; a declared
    touchpoint with free text and no score column is such a comment too. How
    "interactions end" there says nothing about a touchpoint.
    """
    spec = dataset.spec
    found = {
        t.name for t in spec.touchpoints if t.text_column and not t.column and spec.layout == "wide"
    }
    if spec.layout == "wide" and spec.columns.get("text"):
        found.add(WIDE_COMMENT)
    return frozenset(found)


def summary_sentence(
    result: TouchpointEmotions,
    lang: Language,
    labels: dict[str, str] | None = None,
    *,
    journey_level: frozenset[str] = frozenset(),
) -> str | None:
    """Where interactions most often end negatively, and what customers feel there.

    When the only comments are about the whole journey (``journey_level``), the
    sentence says instead what share of them end on a negative note.
    """
    enough = [t for t in result.touchpoints if t.n_comments >= MIN_COMMENTS]
    per_touchpoint = [t for t in enough if t.touchpoint not in journey_level]
    if not per_touchpoint:
        whole = [t for t in enough if t.touchpoint in journey_level]
        return _journey_sentence(whole[0], lang) if whole else None
    worst = max(per_touchpoint, key=lambda t: t.ends_negative.value or 0.0)
    top = worst.top_emotions(1)
    return text(
        "sum_emotions",
        lang,
        touchpoint=(labels or {}).get(worst.touchpoint, worst.touchpoint),
        share=percent_ci(worst.ends_negative, lang),
        n=number(worst.n_comments, lang),
        emotion=word(top[0][0], lang) if top else "–",
    )


def _journey_sentence(comments: TouchpointEmotion, lang: Language) -> str:
    top = comments.top_emotions(1)
    return text(
        "sum_emotions_journey",
        lang,
        share=percent_ci(comments.ends_negative, lang),
        n=number(comments.n_comments, lang),
        decided=number(comments.ends_negative.n, lang),
        emotion=word(top[0][0], lang) if top else "–",
    )


def _table(result: TouchpointEmotions, lang: Language, labels: dict[str, str]) -> ReportTable:
    headers = tuple(
        text(k, lang)
        for k in (
            "col_touchpoint",
            "col_comments",
            "col_valence",
            "col_ends_negative",
            "col_ends_undecided",
            "col_top_emotions",
            "col_effort",
        )
    )
    return ReportTable(
        "emotions",
        headers,
        tuple(_row(t, lang, labels) for t in result.touchpoints),
        caption=text("sortable", lang),
    )


def _row(tp: TouchpointEmotion, lang: Language, labels: dict[str, str]) -> tuple[Cell, ...]:
    few = tp.n_comments < MIN_COMMENTS
    emotions = ", ".join(f"{word(e, lang)} {percent(s.value, lang)}" for e, s in tp.top_emotions(3))
    return (
        Cell(labels.get(tp.touchpoint, tp.touchpoint)),
        Cell(number(tp.n_comments, lang), tp.n_comments),
        Cell(
            ci(tp.valence, lang),
            tp.valence.value,
            few,
        ),
        Cell(percent_ci(tp.ends_negative, lang), tp.ends_negative.value, few),
        Cell(percent(tp.ends_undecided.value, lang), tp.ends_undecided.value, few),
        Cell(emotions, muted=few),
        Cell(percent(tp.effort.value, lang), tp.effort.value, few),
    )
