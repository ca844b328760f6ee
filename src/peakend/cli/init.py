"""``init``: draft a dataset spec from a data file, with the evidence for every guess."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from peakend.cli.common import JsonOpt, app, err, out, print_json, status
from peakend.errors import ConfigError, SourceError


@app.command()
def init(
    file: Annotated[
        Path,
        typer.Argument(
            help="The data file: CSV/TSV, Excel, JSON lines, Parquet or XES (gzip or zip allowed)."
        ),
    ],
    outcome_file: Annotated[
        Path | None,
        typer.Argument(help="Optional: a second file with outcomes per journey (NPS, churn)."),
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the spec. Default: FILE's name with .toml."),
    ] = None,
    sample_rows: Annotated[
        int, typer.Option("--sample-rows", help="Rows profiled from the top of the file.")
    ] = 20_000,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing spec.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Profile a data file and write a commented dataset spec that validates.

    Recognises Qualtrics, SurveyMonkey, LimeSurvey, Formbricks and Google Forms
    exports, Excel sheets, event logs and XES; guesses the layout, the id, time,
    touchpoint, score and text columns, the scales, outcomes and segments. Each
    guess carries its evidence as a comment; a TODO marks what it cannot tell.

    Example: peakend init responses.csv && peakend validate responses.toml
    """
    from peakend.profile import draft_spec, spec_path_for

    for given in (file, outcome_file):
        if given is not None and not given.is_file():
            what = "is a folder" if given.is_dir() else "does not exist"
            raise SourceError(f"{given} {what}; give the data file to profile")
    target = out_path or spec_path_for(file)
    if target.exists() and not force:
        raise ConfigError(
            f"{target} exists; pass --force to overwrite it or --out for another file"
        )
    if sample_rows < 10:
        raise ConfigError(f"--sample-rows must be at least 10, not {sample_rows}")
    with status(f"Profiling {file.name} …"):
        draft = draft_spec(file, outcome_file=outcome_file, out=target, sample_rows=sample_rows)
    target.write_text(draft.text, encoding="utf-8")
    if as_json:
        print_json(
            {
                "ok": True,
                "spec": str(target),
                "platform": draft.platform,
                "layout": draft.layout,
                "rows_sampled": draft.rows_sampled,
                "touchpoints": [t.name for t in draft.spec.touchpoints],
                "outcomes": [o.name for o in draft.spec.outcomes],
                "todos": list(draft.todos),
            }
        )
        return
    shape = f"{draft.platform} export, " if draft.platform else ""
    err.print(
        f"{escape(file.name)}: {shape}{draft.layout} layout, "
        f"{len(draft.spec.touchpoints)} touchpoint(s), {len(draft.spec.outcomes)} outcome(s); "
        f"{draft.rows_sampled:,} rows profiled"
    )
    for todo in draft.todos:
        err.print(f"  [yellow]TODO[/] {escape(todo)}")
    err.print(f"Spec written to [bold]{escape(str(target))}[/]; next: peakend validate {target}")
    out.print(str(target))
