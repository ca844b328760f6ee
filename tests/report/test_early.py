"""The moments analysis starts beside the journey summary when the events are in memory."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from threadpoolctl import threadpool_limits

from peakend import load
from peakend.datasets import demo_spec_path
from peakend.models.moments import MomentsResult, find_moments
from peakend.report import moments as moments_report
from peakend.report.build import build_report


@pytest.mark.parametrize(("loader", "early"), [("pandas", True), ("duckdb", False)])
def test_moments_start_beside_the_summary_only_on_events_in_memory(
    monkeypatch: pytest.MonkeyPatch, loader: str, early: bool
) -> None:
    """Events in memory (pandas loader): started on its own thread, same result as run alone.

    Events left on the DuckDB loader's connection are summarised there: the
    moments analysis then waits for its section, on the thread that builds it.
    """
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setenv("PEAKEND_LOADER", loader)
    dataset = load(demo_spec_path())
    assert (dataset.event_source is None) is (loader == "pandas")
    threads: list[str] = []
    run = moments_report.moments_model

    def recorded(data: Any, outcome: str | None) -> MomentsResult:
        threads.append(threading.current_thread().name)
        return run(data, outcome)

    monkeypatch.setattr(moments_report, "moments_model", recorded)
    report = build_report(dataset)
    assert len(threads) == 1 and threads[0].startswith("peakend-early") is early
    section = report.section("moments")
    assert section is not None
    with threadpool_limits(limits=1, user_api="blas"):  # as the report runs it
        alone = find_moments(load(demo_spec_path()))
    assert json.dumps(section.results, sort_keys=True) == json.dumps(
        alone.to_dict(), sort_keys=True
    )
