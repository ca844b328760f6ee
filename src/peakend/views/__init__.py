"""Charts: one module per view, each returning a Vega-Lite chart built with Altair.

The models return data only; these functions turn their results into charts
that the CLI, the report (HTML and PDF) and the dashboard all use. Save them
with :func:`~peakend.views.save.save_chart` (PNG, SVG, PDF through vl-convert,
no browser; HTML with the Vega JavaScript embedded, offline).
"""

from __future__ import annotations

from peakend.views.save import chart_rows, render, save_chart, save_charts, to_spec

__all__ = ["chart_rows", "render", "save_chart", "save_charts", "to_spec"]
