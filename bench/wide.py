"""Wide survey benchmark: a survey export loaded by DuckDB's views against pandas.

Run from the repository root::

    .venv/bin/python bench/wide.py                        # 1M respondents, 14 ratings
    .venv/bin/python bench/wide.py --respondents 130k     # the airline survey's size

It writes (once, under ``bench/data/wide-<size>``) a CSV export in the airline
survey's shape: one row per respondent, an id, a segment, 14 ratings from 0 (not
applicable) to 5, a free-text comment on about one row in eight, and a satisfied /
dissatisfied outcome. One row in ten thousand repeats a respondent, lacks an id, or
has a rating that is not a number or lies outside the scale, so the problems and
the quarantine have something to report. Then, each as its own process under
``/usr/bin/time``:

* ``validate_duckdb``: ``peakend validate SPEC --json`` with the DuckDB loader;
* ``validate_pandas``: the same with the pandas loader;
* ``read_csv_pandas``: ``pandas.read_csv(dtype=str)`` of the export alone, before
  any check (what the pandas loader starts from).

Output is ``name: value`` lines (seconds, peak memory, events loaded) and the ratios
of the DuckDB loader to the other two.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as engine_bench  # noqa: E402  (bench/engine.py: sizes and labels)
import xes as xes_bench  # noqa: E402  (bench/xes.py: timing a process)

RATINGS = 14


def export(respondents: int) -> Path:
    """The spec of a wide export of ``respondents`` rows, written once."""
    folder = HERE / "data" / f"wide-{engine_bench._label(respondents)}"
    spec = folder / "survey.toml"
    if spec.exists():
        return spec
    folder.mkdir(parents=True, exist_ok=True)
    ratings = ", ".join(_rating(i) for i in range(RATINGS))
    query = f"""
        SELECT CASE WHEN i % 10007 = 3 THEN NULL
                    WHEN i % 10009 = 4 THEN 'P' || (i - 1) ELSE 'P' || i END AS id,
               CASE WHEN hash(i, 'segment') % 3 = 0 THEN 'business' ELSE 'leisure' END
                 AS segment,
               {ratings},
               CASE WHEN hash(i, 'comment') % 8 = 0 THEN 'Rij ' || (i % 97) || ', stoel krap'
                    END AS comment,
               CASE WHEN hash(i, 'satisfied') % 5 < 2 THEN 'satisfied'
                    ELSE 'neutral or dissatisfied' END AS satisfaction
        FROM range(1, {respondents + 1}) AS r(i)
    """
    csv = folder / "survey.csv"
    duckdb.sql(f"COPY ({query}) TO '{csv}' (HEADER, DELIMITER ',')")
    touchpoints = "".join(
        f'[[touchpoints]]\nname = "service_{i}"\ncolumn = "q{i}"\nstage = {i + 1}\n\n'
        for i in range(RATINGS)
    )
    spec.write_text(
        'name = "wide_bench"\nlayout = "wide"\nattributes = ["segment"]\n'
        'default_scale = "rating"\n\n[source]\npath = "survey.csv"\n\n'
        '[columns]\njourney_id = "id"\ntext = "comment"\n\n'
        "[scales.rating]\nlow = 1\nhigh = 5\nnot_applicable = [0]\n\n"
        '[outcomes.satisfied]\ncolumn = "satisfaction"\nkind = "binary"\n'
        'positive = ["satisfied"]\nnegative = ["neutral or dissatisfied"]\n\n' + touchpoints,
        encoding="utf-8",
    )
    return spec


def _rating(i: int) -> str:
    """SQL for rating column ``q{i}``: 0-5, a word or a 9 in one row of ten thousand."""
    value = f"CAST(hash(i, {i}) % 6 AS VARCHAR)"
    return (
        f"CASE WHEN (i + {i}) % 10037 = 5 THEN 'n/a' WHEN (i + {i}) % 10039 = 6 THEN '9' "
        f"ELSE {value} END AS q{i}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--respondents", default="1M", help="rows of the export: 130k, 1M")
    args = parser.parse_args(argv)
    respondents = engine_bench._parse_size(args.respondents)
    spec = export(respondents)
    p = f"{engine_bench._label(respondents)}."
    validate = [sys.executable, "-m", "peakend", "validate", str(spec), "--json"]
    read = f"import pandas as pd; pd.read_csv({str(spec.parent / 'survey.csv')!r}, dtype=str)"
    contenders = {
        "validate_duckdb": (validate, {"PEAKEND_LOADER": "duckdb"}),
        "validate_pandas": (validate, {"PEAKEND_LOADER": "pandas"}),
        "read_csv_pandas": ([sys.executable, "-c", read], {}),
    }
    results: dict[str, tuple[float, float]] = {}
    reports = {}
    for label, (command, env) in contenders.items():
        seconds, megabytes, output = xes_bench.timed(command, env)
        results[label] = seconds, megabytes
        if command is validate:
            reports[label] = report = json.loads(output)
            print(f"{p}{label}_loader: {report['loader']}")
            print(f"{p}{label}_events: {report['events_loaded']}")
        print(f"{p}{label}_s: {seconds:.3g}")
        print(f"{p}{label}_peak_rss_mb: {megabytes:.0f}", flush=True)
    same = [{k: v for k, v in r.items() if k != "loader"} for r in reports.values()]
    print(f"{p}reports_identical: {same[0] == same[1]}")
    duck = results["validate_duckdb"]
    for other in ("validate_pandas", "read_csv_pandas"):
        print(f"{p}duckdb_over_{other}_s: {duck[0] / results[other][0]:.3g}")
        print(f"{p}duckdb_over_{other}_peak: {duck[1] / results[other][1]:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
