"""Dashboard layouts: which widgets, in which order, with which options, in a small TOML file.

A layout is meant to be edited and shared (``peakend serve --layout FILE``)::

    title = "Customer care"

    [[widget]]
    name = "score_trend"
    touchpoints = ["delivery", "care"]   # only these units (never more than a user's role allows)
    period = "12w"                       # the last 12 weeks; or "30d", or "2026-01-01..2026-03-31"

    [[widget]]
    name = "moments"
    dataset = "demo"                     # a dataset given with --dataset (analysis widgets)

Without a file the :data:`DEFAULT_LAYOUT` is used: every survey widget, the cases,
then the analysis widgets of each dataset. :func:`read_layout` and
:func:`check_layout` raise :class:`~peakend.errors.ConfigError` (exit code 2)
naming the widget and key to fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakend.dashboard.filters import Filter, FilterError, parse_filter
from peakend.errors import ConfigError

#: Widgets over the survey answers (computed by :class:`~peakend.dashboard.widgets.WidgetCache`).
SURVEY_WIDGETS = {
    "responses": "Responses and response rate per week",
    "score_trend": "Overall score per touchpoint and week",
    "endings": "Share of comments ending negatively per touchpoint",
    "verbatims": "Latest comments and how they end",
}
#: Widgets over the cases.
CASE_WIDGETS = {
    "cases": "Open cases",
    "case_report": "Case handling",
    "case_recovery": "Do closed cases recover the customer?",
}
#: Widgets over a dataset's analyses (:mod:`peakend.dashboard.analyses`).
ANALYSIS_WIDGETS = {
    "moments": "Moment matrix",
    "memory": "Remembered vs experienced",
    "hidden": "Hidden-moment timeline",
    "recovery": "Service recovery",
    "churn": "Churn",
    "focus": "Focus plan",
}
ALL_WIDGETS = {**SURVEY_WIDGETS, **CASE_WIDGETS, **ANALYSIS_WIDGETS}
WIDGET_KEYS = ("name", "title", "touchpoints", "period", "segment", "dataset")
DEFAULT_LAYOUT = """\
# The default dashboard layout of `peakend serve` (copy it, edit it, pass it with --layout).
title = "Dashboard"

[[widget]]
name = "score_trend"

[[widget]]
name = "responses"

[[widget]]
name = "endings"

[[widget]]
name = "verbatims"

[[widget]]
name = "cases"

[[widget]]
name = "case_report"

[[widget]]
name = "case_recovery"
"""


@dataclass(frozen=True)
class Panel:
    """One widget of a layout: its name, title, filter and (analysis widgets) dataset."""

    name: str
    title: str
    filter: Filter
    dataset: str = ""

    @property
    def is_analysis(self) -> bool:
        return self.name in ANALYSIS_WIDGETS


@dataclass(frozen=True)
class Layout:
    """A dashboard: its title and its panels in order."""

    title: str
    panels: tuple[Panel, ...]
    #: Where the layout came from (its file), for error messages.
    source: str = "layout"


def read_layout(path: str | Path) -> Layout:
    """The layout of a TOML file; :class:`ConfigError` names the widget and key to fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such layout file") from None
    return parse_layout(text, str(path))


def parse_layout(text: str, where: str = "layout") -> Layout:
    """The layout of a TOML text (``where`` names it in error messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"title", "widget"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            "a layout has `title` and [[widget]] tables"
        )
    title = data.get("title", "Dashboard")
    if not isinstance(title, str):
        raise ConfigError(f'{where}: title must be text, e.g. title = "Customer care"')
    raw = data.get("widget", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f'{where}: add at least one [[widget]] table, e.g. name = "score_trend"')
    panels = tuple(_panel(item, f"{where}: widget {i + 1}") for i, item in enumerate(raw))
    return Layout(title, panels, where)


def _panel(item: Any, where: str) -> Panel:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be a [[widget]] table")
    unknown = sorted(set(item) - set(WIDGET_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(WIDGET_KEYS)}"
        )
    name = item.get("name")
    if name not in ALL_WIDGETS:
        raise ConfigError(f"{where}: name must be one of {', '.join(ALL_WIDGETS)}, not {name!r}")
    where = f"{where} ({name})"
    for key in ("title", "period", "segment", "dataset"):
        if not isinstance(item.get(key, ""), str):
            raise ConfigError(f'{where}: {key} must be text in quotes, e.g. {key} = "…"')
    touchpoints = item.get("touchpoints", [])
    if not isinstance(touchpoints, list) or not all(isinstance(t, str) for t in touchpoints):
        raise ConfigError(f'{where}: touchpoints must be a list of names, e.g. ["delivery"]')
    if item.get("dataset") and name not in ANALYSIS_WIDGETS:
        raise ConfigError(
            f"{where}: dataset applies to the analysis widgets "
            f"({', '.join(ANALYSIS_WIDGETS)}) only; remove it"
        )
    try:
        found = parse_filter(item.get("period", ""), item.get("segment", ""), touchpoints)
    except FilterError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    title = item.get("title") or ALL_WIDGETS[name]
    return Panel(name, title, found, item.get("dataset", ""))


def check_layout(layout: Layout, datasets: Sequence[str]) -> Layout:
    """``layout`` with each analysis widget's dataset resolved against those registered.

    An analysis widget may leave ``dataset`` out when exactly one is registered.
    """
    panels = []
    for i, panel in enumerate(layout.panels, 1):
        if not panel.is_analysis:
            panels.append(panel)
            continue
        where = f"{layout.source}: widget {i} ({panel.name})"
        if not datasets:
            raise ConfigError(
                f"{where}: an analysis widget needs a dataset; start serve with --dataset SPEC"
            )
        name = panel.dataset or (datasets[0] if len(datasets) == 1 else "")
        if not name:
            raise ConfigError(
                f"{where}: several datasets are registered; "
                f"add dataset = one of {', '.join(datasets)}"
            )
        if name not in datasets:
            raise ConfigError(
                f"{where}: no dataset {name!r}; registered: {', '.join(datasets)} (--dataset SPEC)"
            )
        panels.append(Panel(panel.name, panel.title, panel.filter, name))
    return Layout(layout.title, tuple(panels), layout.source)


def default_layout(datasets: Sequence[str] = ()) -> Layout:
    """The built-in layout, followed by every analysis widget of each dataset."""
    base = parse_layout(DEFAULT_LAYOUT, "the default layout")
    extra = tuple(
        Panel(name, f"{title} · {dataset}", Filter(), dataset)
        for dataset in datasets
        for name, title in ANALYSIS_WIDGETS.items()
    )
    return Layout(base.title, base.panels + extra, base.source)


def load_layout(path: str | Path | None, datasets: Sequence[str]) -> Layout:
    """The layout of ``path`` (the default layout when None), checked against ``datasets``."""
    layout = read_layout(path) if path is not None else default_layout(datasets)
    return check_layout(layout, datasets)
