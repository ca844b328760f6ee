"""The CX report: every analysis the data allows, as HTML, PDF, JSON and chart images.

``analyze(spec, out_dir)`` is the one call; :func:`build_report` and
:func:`write_report` are its two halves for callers that already hold a dataset.

The names are imported from :mod:`peakend.report.build` on first use, so that a
command needing one small part (the data-quality warning) does not import every
analysis and chart library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peakend.report.build import Report, ReportFiles, analyze, build_report, write_report

__all__ = ["Report", "ReportFiles", "analyze", "build_report", "write_report"]


def __getattr__(name: str) -> object:
    """A public name of :mod:`peakend.report.build`, imported on first use."""
    if name not in __all__:
        raise AttributeError(f"module 'peakend.report' has no attribute {name!r}")
    return getattr(importlib.import_module("peakend.report.build"), name)
