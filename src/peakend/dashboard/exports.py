"""Widget exports: each widget's rows as CSV, and its chart as PNG or SVG (vl-convert).

The JSON endpoints of the widgets answer ``?format=csv|png|svg`` with a file
instead of JSON, so a user can put a figure in a slide or a spreadsheet without
a browser. CSV holds the rows the chart draws (every estimate with its interval
columns); PNG and SVG are the chart the dashboard shows, rendered on the server
with the same Vega-Lite spec as the report's images.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from peakend.survey.app import problem
from peakend.views.save import Spec, render

FORMATS = ("csv", "png", "svg")
MEDIA = {"csv": "text/csv; charset=utf-8", "png": "image/png", "svg": "image/svg+xml"}


def wants_export(request: Request) -> bool:
    """Whether the request asks for a file (``format`` other than json)."""
    return request.query_params.get("format", "json") != "json"


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """Rows as CSV with a header of every key (nested values as JSON text)."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    return json.dumps(value, default=str) if isinstance(value, dict | list) else value


def export_response(
    request: Request, name: str, rows: Sequence[dict[str, Any]], charts: Sequence[tuple[str, Spec]]
) -> Response:
    """The widget as the file ``?format=`` asks for (``chart=<id>`` picks one of several)."""
    fmt = request.query_params.get("format", "")
    if fmt not in FORMATS:
        return problem(f"format must be json, {', '.join(FORMATS)}; not {fmt!r}", 422)
    wanted = request.query_params.get("chart")
    chosen = [c for c in charts if wanted in (None, c[0])]
    if fmt != "csv":
        if not chosen:
            known = ", ".join(c[0] for c in charts) or "none: export it as format=csv"
            return problem(f"this widget has no chart {wanted or ''} to draw; charts: {known}", 404)
        content = render(chosen[0][1], fmt)
        filename = f"{chosen[0][0]}.{fmt}"
    else:
        content, filename = to_csv(rows), f"{name}.csv"
    return Response(
        content,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
