"""One visual style for every chart peakend draws, and one way to save them.

The palette is Okabe & Ito's (2008) colour-blind safe set; a moment class or a
recommendation always has the same colour, in every chart and the report.
Figures are saved as a self-contained HTML file (Plotly's JavaScript embedded,
so it opens offline) and as static PNG/SVG images rendered by Kaleido, which
drives a locally installed Chromium.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import plotly.graph_objects as go

from peakend.errors import ConfigError

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
    "not_enough_data": PALETTE["light_grey"],
}

#: Colour per recommendation of the focus plan.
RECOMMENDATION_COLOURS = {
    "fix": PALETTE["vermillion"],
    "excel": PALETTE["bluish_green"],
    "maintain": PALETTE["blue"],
    "allow": PALETTE["grey"],
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


def style(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    """Apply the house style: plain white background, readable titles and axis labels."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        template="plotly_white",
        font={"family": FONT, "size": 13},
        colorway=SERIES_COLOURS,
        legend={"title": {"text": ""}},
        margin={"l": 70, "r": 30, "t": 70, "b": 60},
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def save_figure(
    fig: go.Figure, stem: Path, formats: Iterable[str] = ("html", "png", "svg")
) -> list[Path]:
    """Write ``fig`` as ``stem.html`` / ``stem.png`` / ``stem.svg`` and return the paths.

    HTML embeds Plotly's JavaScript so the file works without a network. PNG and
    SVG need Kaleido and a Chromium on the machine; without one, a
    :class:`~peakend.errors.ConfigError` says how to install it.
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        if fmt == "html":
            fig.write_html(path, include_plotlyjs=True, full_html=True)
        elif fmt in ("png", "svg", "pdf"):
            _write_image(fig, path)
        else:
            raise ConfigError(f"unknown figure format {fmt!r}: use html, png, svg or pdf")
        written.append(path)
    return written


def _write_image(fig: go.Figure, path: Path) -> None:
    try:
        fig.write_image(path, width=1000, height=650, scale=1 if path.suffix == ".svg" else 2)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ConfigError(
            f"could not render {path.name}: {exc}. Static images need Chromium on this "
            "machine (Debian/Ubuntu: apt-get install chromium); HTML works without it."
        ) from exc
