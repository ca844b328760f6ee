"""Writing charts from the CLI: never fatal.

A command's results matter more than its pictures: when a chart cannot be
written (a read-only folder, a full disk, a format that cannot be drawn), the
command still prints its results and exits 0, and says what it skipped and how
to get it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape

from peakend.cli.common import err
from peakend.errors import PeakendError


def write_charts(
    charts: Sequence[tuple[Any, Path]],
    formats: Iterable[str] = ("html", "png", "svg"),
    *,
    what: str = "charts",
    lang: str = "en",
) -> list[Path]:
    """Write ``charts`` (Altair charts with their file stems); report, never raise."""
    from peakend.views.save import save_charts

    try:
        written = save_charts(charts, tuple(formats), lang="nl" if lang == "nl" else "en")
    except (PeakendError, OSError) as exc:
        err.print(
            f"[yellow]skipped the {escape(what)}:[/] {escape(str(exc))}. The results above are "
            "complete; to get the files, write them to a folder you can write to.",
            highlight=False,
        )
        return []
    shown = ", ".join(str(p) for p in written)
    err.print(f"{what.capitalize()} written to {escape(shown)}", highlight=False)
    return written
