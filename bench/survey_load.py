"""Survey load benchmark: submissions per second and latency against the running service.

Run from the repository root::

    .venv/bin/python bench/survey_load.py                        # SQLite, 3,000 submissions
    .venv/bin/python bench/survey_load.py --requests 5000 --concurrency 32
    .venv/bin/python bench/survey_load.py --db postgresql://peakend:peakend@127.0.0.1/peakend

The script makes a fresh survey database (SQLite in a temporary folder unless
``--db`` is given), creates one invitation per request, starts the service
(``peakend survey serve``) as a separate process on a free loopback port and drives it with
``--concurrency`` keep-alive HTTP/1.1 connections. Each connection submits the
answers of one link after another (``POST /api/v1/forms/<token>/responses``).
The client is a few lines of asyncio streams, so that the load generator takes
as little of the shared CPU as possible. A request counts when the service
acknowledged it (201) and the stored total matches at the end.

Before the submissions it fetches the form page of every link once
(``GET /s/<token>``, the page a customer opens). The run is bounded by
``--requests`` and ``--max-seconds``. Output is ``name: value`` lines:
submissions per second, p50/p90/p99 latency in milliseconds (from sending a
request to reading its whole answer), the number stored, and the same for form
pages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTIONNAIRES = REPO / "examples" / "questionnaires"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(db: str, n: int) -> list[str]:
    """Create the schema and ``n`` invitations; returns their tokens."""
    from peakend.survey.questionnaire import read_questionnaires
    from peakend.survey.store import InvitationRequest, SurveyStore

    store = SurveyStore.open(db, read_questionnaires(QUESTIONNAIRES))
    now = datetime.now(UTC)
    requests = [InvitationRequest(f"C{i}", f"J{i}", "delivery", now) for i in range(n)]
    tokens = [invitation.token for invitation in store.invite(requests, actor="bench")]
    store.engine.dispose()
    return tokens


def start_server(db: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PEAKEND_SURVEY_DB": db,
        "PEAKEND_SURVEY_QUESTIONNAIRES": str(QUESTIONNAIRES),
    }
    command = [sys.executable, "-m", "peakend", "survey", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(command, env=env)


def wait_until_up(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the service did not start within {timeout_s:.0f} s")


def answers(i: int) -> bytes:
    body = {
        "answers": {
            "success": "yes",
            "effort": 1 + i % 7,
            "emotion": 1 + i % 5,
            "overall": 1 + i % 5,
        }
    }
    return json.dumps(body).encode()


async def connection(
    port: int,
    jobs: asyncio.Queue[tuple[int, str]],
    latencies: list[float],
    statuses: dict[int, int],
    stop_at: float,
    form_pages: bool,
) -> None:
    """One keep-alive connection sending requests until the queue is empty or time is up.

    Submits answers, or with ``form_pages`` fetches the form page of each link.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while not jobs.empty() and time.perf_counter() < stop_at:
            i, token = jobs.get_nowait()
            if form_pages:
                request = f"GET /s/{token} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            else:
                body = answers(i)
                request = (
                    f"POST /api/v1/forms/{token}/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def drive(
    port: int, tokens: list[str], concurrency: int, max_seconds: float, form_pages: bool = False
) -> tuple[list[float], dict[int, int], float]:
    jobs: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for job in enumerate(tokens):
        jobs.put_nowait(job)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    stop_at = started + max_seconds
    await asyncio.gather(
        *(
            connection(port, jobs, latencies, statuses, stop_at, form_pages)
            for _ in range(concurrency)
        )
    )
    return latencies, statuses, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def stored(db: str) -> int:
    from peakend.survey.database import make_engine
    from peakend.survey.store import SurveyStore

    store = SurveyStore(make_engine(db), {})
    count = store.counts()["responses"]
    store.engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--requests", type=int, default=3000, help="submissions to send")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel connections")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of the service")
    parser.add_argument("--warmup", type=int, default=200, help="submissions before measuring")
    parser.add_argument("--max-seconds", type=float, default=60, help="stop sending after this")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = args.db or str(Path(folder) / "survey.db")
        tokens = prepare(db, args.warmup + args.requests)
        port = free_port()
        server = start_server(db, port, args.workers)
        try:
            wait_until_up(port)
            asyncio.run(drive(port, tokens[: args.warmup], args.concurrency, args.max_seconds))
            pages, page_statuses, page_elapsed = asyncio.run(
                drive(port, tokens[args.warmup :], args.concurrency, args.max_seconds, True)
            )
            latencies, statuses, elapsed = asyncio.run(
                drive(port, tokens[args.warmup :], args.concurrency, args.max_seconds)
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        n_stored = stored(db)
    database = "sqlite" if args.db is None else args.db.split(":", 1)[0]
    print(f"survey.database: {database}")
    print(f"survey.workers: {args.workers}")
    print(f"survey.concurrency: {args.concurrency}")
    print(f"survey.requests: {len(latencies)}")
    print(f"survey.acknowledged: {statuses.get(201, 0)}")
    print(f"survey.other_statuses: {json.dumps({k: v for k, v in statuses.items() if k != 201})}")
    print(f"survey.stored_total: {n_stored}")
    print(f"survey.seconds: {elapsed:.2f}")
    print(f"survey.submissions_per_s: {len(latencies) / elapsed:.0f}")
    for q in (0.5, 0.9, 0.99):
        print(f"survey.p{int(q * 100)}_ms: {1000 * percentile(latencies, q):.1f}")
    print(f"survey.form_pages: {len(pages)} (statuses {json.dumps(page_statuses)})")
    print(f"survey.form_pages_per_s: {len(pages) / page_elapsed:.0f}")
    print(f"survey.form_page_p50_ms: {1000 * percentile(pages, 0.5):.1f}")
    print(f"survey.form_page_p99_ms: {1000 * percentile(pages, 0.99):.1f}")
    if statuses.get(201, 0) != len(latencies) or n_stored != args.warmup + len(latencies):
        raise SystemExit("not every submission was acknowledged and stored")


if __name__ == "__main__":
    main()
