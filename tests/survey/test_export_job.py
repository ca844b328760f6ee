"""Download exports run in a child process (peakend.survey.export_job).

With one worker, an export built in the worker's own process held the
interpreter lock and stalled the submissions it was serving; the export now
runs in another process, which these tests check it does, with the same file
as an export in the process, private, audited and cleaned up.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from peakend.errors import SourceError
from peakend.survey import export_job
from peakend.survey.app import SurveySettings, create_app
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, EXAMPLES, AppClient, invitation_request


def _answered(store: SurveyStore, n: int = 3) -> None:
    for i in range(n):
        invitation = store.invite([invitation_request(i)], actor="test")[0]
        store.submit(invitation.token, {**ANSWERS, "comment": f"=SUM({i})"})


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_export_runs_in_another_process_and_matches_one_in_process(
    store: SurveyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    _answered(store)
    started: list[list[str]] = []
    original = anyio.run_process

    async def spy(command: list[str], **kwargs: Any) -> Any:
        started.append(command)
        return await original(command, **kwargs)

    monkeypatch.setattr(anyio, "run_process", spy)
    path = asyncio.run(export_job.export_file(store, actor="key:test", fmt=fmt))
    assert started and started[0][1:] == ["-m", "peakend.survey.export_job"]
    in_process = tmp_path / f"here.{fmt}"
    export_job.write_export(store, in_process, actor="key:test", fmt=fmt)
    if fmt == "csv":
        assert path.read_bytes() == in_process.read_bytes()
        assert b"'=SUM(2)" in path.read_bytes()
    else:
        import pyarrow.parquet as pq

        assert pq.read_table(path).equals(pq.read_table(in_process))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    actors = [entry["actor"] for entry in store.audit_log() if entry["action"] == "export"]
    assert actors == ["key:test", "key:test"]


def test_a_failed_export_process_is_an_error_that_says_why(
    store: SurveyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(SourceError, match="the export process failed"):
        asyncio.run(export_job.export_file(store, actor="key:test", fmt="csv"))


def test_the_download_leaves_no_file_behind(
    store: SurveyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answered(store, 2)
    written: list[Path] = []
    original = export_job.export_file

    async def remember(*args: Any, **kwargs: Any) -> Path:
        path = await original(*args, **kwargs)
        written.append(path)
        return path

    monkeypatch.setattr("peakend.survey.app.export_file", remember)
    db = store.engine.url.database
    settings = SurveySettings(db=str(db), questionnaires=EXAMPLES)
    client = AppClient(create_app(settings, store=store))
    key = store.add_api_key("tester")
    reply = client.get("/api/v1/export?format=csv", headers={"Authorization": f"Bearer {key}"})
    client.close()
    assert reply.status_code == 200 and reply.text.count("\n") == 3
    assert written and not written[0].parent.exists()
