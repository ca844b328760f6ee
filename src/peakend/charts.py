"""One visual style for every chart peakend draws, and one way to save them.

The palette is Okabe & Ito's (2008) colour-blind safe set; a moment class or a
recommendation always has the same colour, in every chart and the report.
Figures are saved as a self-contained HTML file (Plotly's JavaScript embedded,
so it opens offline) and as static PNG/SVG images rendered by Kaleido, which
drives a locally installed Chromium.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

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
    "inconclusive": PALETTE["yellow"],
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
    return save_figures([(fig, stem)], formats)


def save_figures(
    figures: Sequence[tuple[go.Figure, Path]], formats: Iterable[str] = ("html", "png", "svg")
) -> list[Path]:
    """Write several figures at once; static images share one browser session.

    Starting Chromium costs about two seconds, so a report's dozens of images are
    rendered in one batch rather than one browser per image.
    """
    formats = tuple(formats)
    unknown = sorted(set(formats) - {"html", "png", "svg", "pdf"})
    if unknown:
        raise ConfigError(f"unknown figure format {unknown[0]!r}: use html, png, svg or pdf")
    written: list[Path] = []
    images: list[tuple[go.Figure, Path]] = []
    for fig, stem in figures:
        stem.parent.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            path = stem.with_suffix(f".{fmt}")
            if fmt == "html":
                fig.write_html(path, include_plotlyjs=True, full_html=True)
            else:
                images.append((fig, path))
            written.append(path)
    if images:
        _write_images(images)
    return written


def _write_images(images: list[tuple[go.Figure, Path]]) -> None:
    try:
        pio.write_images(
            fig=[fig for fig, _ in images],
            file=[path for _, path in images],
            width=1000,
            height=650,
            scale=[1 if path.suffix == ".svg" else 2 for _, path in images],
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise ConfigError(
            f"could not render {images[0][1].name}: {exc}. Static images need Chromium on "
            "this machine (Debian/Ubuntu: apt-get install chromium); HTML works without it."
        ) from exc
