"""Admin exports in a child process, so that a worker keeps answering submissions.

An export of 60,000 answers builds every row in Python for about two seconds.
Run in the worker's own process (even in a thread), that work holds the
interpreter lock, and the submissions that worker was serving waited with it:
with one worker, submissions sent at 100/s during an export had a p99 of 268.6
ms. The service therefore runs each download export in a separate Python
process at a lower CPU priority (nice 10), which reads the same read-only
snapshot (:meth:`~peakend.survey.store.SurveyStore.read_snapshot`), writes the
file (mode 0600) into a private temporary folder, and exits; the worker only
awaits the process, without holding the lock, and then streams the file.

An in-memory SQLite database (tests) cannot be opened by another process; its
export runs in a thread of the worker as before.

``python -m peakend.survey.export_job`` reads the request as JSON from the
environment variable ``PEAKEND_SURVEY_EXPORT_REQUEST`` (``db``, ``actor``,
``format``, ``out``); the service starts it so.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import anyio
from starlette.concurrency import run_in_threadpool

from peakend.errors import SourceError
from peakend.survey.database import make_engine, sqlite_file
from peakend.survey.keys import make_private
from peakend.survey.store import SurveyStore

EXPORT_NICE = 10
"""How much lower the export process's CPU priority is than the worker's."""
MAX_ERROR_CHARS = 2000
REQUEST_VARIABLE = "PEAKEND_SURVEY_EXPORT_REQUEST"


def write_export(store: SurveyStore, out: Path, *, actor: str, fmt: str) -> None:
    """Write every event of ``store`` to ``out`` as CSV (formula-safe) or Parquet; audited."""
    # Imported here: pyarrow is needed only by exports, not by the form workers.
    import pyarrow.parquet as pq

    from peakend.survey.export import events_table, write_safe_csv

    table = events_table(store, actor=actor)
    make_private(out)
    if fmt == "parquet":
        pq.write_table(table, out)
    else:
        write_safe_csv(table, out)


async def export_file(store: SurveyStore, *, actor: str, fmt: str) -> Path:
    """Export ``store``'s events into a new private folder; the file written.

    The caller removes the file's folder when it has sent the file.

    Raises
    ------
    SourceError
        If the export process failed (its error output is in the message).
    """
    folder = Path(tempfile.mkdtemp(prefix="peakend-export-"))  # mode 0700
    out = folder / f"survey-events.{fmt}"
    try:
        if store.engine.dialect.name == "sqlite" and sqlite_file(store.engine) is None:
            await run_in_threadpool(write_export, store, out, actor=actor, fmt=fmt)
            return out
        request = {
            "db": store.engine.url.render_as_string(hide_password=False),
            "actor": actor,
            "format": fmt,
            "out": str(out),
        }
        # In the environment, not the command line: the URL may hold a password,
        # and a process's environment is readable by its owner only.
        done = await anyio.run_process(
            [sys.executable, "-m", "peakend.survey.export_job"],
            env={**os.environ, REQUEST_VARIABLE: json.dumps(request)},
            check=False,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if done.returncode != 0 or not out.exists():
        shutil.rmtree(folder, ignore_errors=True)
        error = done.stderr.decode(errors="replace")[-MAX_ERROR_CHARS:]
        raise SourceError(f"the export process failed (exit {done.returncode}): {error}")
    return out


def main() -> None:
    """Run the export request in ``PEAKEND_SURVEY_EXPORT_REQUEST`` (see the module docs)."""
    os.nice(EXPORT_NICE)
    request = json.loads(os.environ[REQUEST_VARIABLE])
    store = SurveyStore(make_engine(request["db"]), {})
    try:
        write_export(store, Path(request["out"]), actor=request["actor"], fmt=request["format"])
    finally:
        store.engine.dispose()


if __name__ == "__main__":
    main()
