"""The CX report: every analysis the data allows, as HTML, PDF, JSON and chart images.

``analyze(spec, out_dir)`` is the one call; :func:`build_report` and
:func:`write_report` are its two halves for callers that already hold a dataset.
"""

from peakend.report.build import Report, ReportFiles, analyze, build_report, write_report

__all__ = ["Report", "ReportFiles", "analyze", "build_report", "write_report"]
