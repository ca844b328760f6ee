"""One visual style for every chart peakend draws.

The palette is Okabe & Ito's (2008) colour-blind safe set; a moment class or a
recommendation always has the same colour, in every chart, the report and the
dashboard. :func:`configure` applies the house font, sizes and background to a
finished Altair chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

#: Okabe-Ito colours by name.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
    "light_grey": "#D9D9D9",
}

#: Colour per moment class (``peakend.models.moments``).
CLASS_COLOURS = {
    "moment_of_truth": PALETTE["vermillion"],
    "excel": PALETTE["bluish_green"],
    "performance": PALETTE["blue"],
    "standard": PALETTE["grey"],
    "inconclusive": PALETTE["yellow"],
    "not_enough_data": PALETTE["light_grey"],
}

#: Colour per recommendation of the focus plan.
RECOMMENDATION_COLOURS = {
    "fix": PALETTE["vermillion"],
    "excel": PALETTE["bluish_green"],
    "maintain": PALETTE["blue"],
    "allow": PALETTE["grey"],
    "proactive_contact": PALETTE["orange"],
    "collect_data": PALETTE["light_grey"],
}

#: Colours for series that are not classes, in order of use.
SERIES_COLOURS = [
    PALETTE["blue"],
    PALETTE["orange"],
    PALETTE["bluish_green"],
    PALETTE["reddish_purple"],
    PALETTE["sky_blue"],
    PALETTE["vermillion"],
    PALETTE["yellow"],
    PALETTE["black"],
]

FONT = "DejaVu Sans, Arial, sans-serif"

#: Default drawing size in pixels (the report and the images use the same).
WIDTH = 640
HEIGHT = 360

#: What every view returns: an Altair top-level chart (``to_dict()`` gives its Vega-Lite spec).
Chart = alt.TopLevelMixin


def data(rows: Sequence[Mapping[str, Any]]) -> alt.Data:
    """Inline data for a chart (rows of plain values; no pandas needed)."""
    return alt.Data(values=[dict(r) for r in rows])  # type: ignore[no-untyped-call]


def configure(chart: Any, title: str, subtitle: str | None = None) -> Chart:
    """Apply the house style and a left-aligned title (and subtitle) to a finished chart."""
    params = alt.TitleParams(title, anchor="start", fontSize=15)
    if subtitle:
        params = alt.TitleParams(
            title, anchor="start", fontSize=15, subtitle=subtitle, subtitleFontSize=11
        )
    styled: Any = chart.properties(title=params)
    configured: Chart = (
        styled.configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=12, gridColor="#eeeeee", labelLimit=260)
        .configure_legend(labelFontSize=11, titleFontSize=11, orient="bottom", labelLimit=300)
    )
    return configured


def colour_scale(colours: dict[str, str], labels: dict[str, str]) -> alt.Scale:
    """A fixed colour scale: each key's label always gets that key's colour."""
    keys = list(colours)
    return alt.Scale(domain=[labels.get(k, k) for k in keys], range=[colours[k] for k in keys])
