"""Survey load benchmark: submissions per second and latency against the running service.

Run from the repository root::

    python bench/survey_load.py                                  # SQLite: closed + open loop
    python bench/survey_load.py --rates 200,400,600 --seconds 10 # open loop at fixed rates
    python bench/survey_load.py --db postgresql://peakend:peakend@127.0.0.1/peakend --workers 2
    python bench/survey_load.py --export-rows 60000 --rates 100  # export during submissions

The script makes a survey database (SQLite in a temporary folder unless ``--db``
is given; a PostgreSQL database may already hold rows: only the difference is
checked), creates one invitation per request, starts the service (``peakend
survey serve``) as a separate process on a free loopback port, fetches the form
page of some links, then measures two ways:

* **closed loop** (``--concurrency`` keep-alive connections, each sending its
  next submission when the previous answer arrived): the most the service can
  do, but a slow answer also delays the next request, so latency is
  understated ("coordinated omission");
* **open loop** (``--rates``): submissions are *scheduled* at a fixed arrival
  rate whatever the service does; each latency runs from the scheduled time to
  the whole answer, so time spent waiting for a free connection counts. A
  rate is sustained when the achieved rate matches it and p99 ≤ 100 ms.

For every phase it prints the service's CPU time per submission (user + system
time of the service and its workers, read from /proc), which does not depend on
how busy the machine is, beside the figures that do; on a PostgreSQL server on
the same host also the CPU time of the server processes that serve the service
(found by their ``application_name``, which the script sets). ``--export-rows N``
first stores N answered invitations and, during the open loop, downloads the
admin CSV export once: the submissions' p99 shows whether the export stalls
them. At the end every acknowledged answer must be stored exactly once.

The client is a few lines of asyncio streams, so that the load generator takes
as little of the shared CPU as possible. Output is ``name: value`` lines.
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
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTIONNAIRES = REPO / "examples" / "questionnaires"
MAX_OPEN_CONNECTIONS = 512
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(db: str, n: int, run_id: str) -> list[str]:
    """Create the schema and ``n`` invitations (new customers of this run); their tokens."""
    from peakend.survey.questionnaire import read_questionnaires
    from peakend.survey.store import InvitationRequest, SurveyStore

    store = SurveyStore.open(db, read_questionnaires(QUESTIONNAIRES))
    now = datetime.now(UTC)
    requests = [InvitationRequest(f"B{run_id}-{i}", f"J{i}", "delivery", now) for i in range(n)]
    tokens = [invitation.token for invitation in store.invite(requests, actor="bench")]
    store.engine.dispose()
    return tokens


def prefill(db: str, n: int, run_id: str) -> str:
    """Store ``n`` answered invitations in bulk (for the export phase); returns an API key."""
    import sqlalchemy as sa

    from peakend.survey import models as m
    from peakend.survey.questionnaire import read_questionnaires
    from peakend.survey.store import InvitationRequest, SurveyStore

    store = SurveyStore.open(db, read_questionnaires(QUESTIONNAIRES))
    now = datetime.now(UTC)
    requests = [
        InvitationRequest(f"P{run_id}-{i}", f"PJ{i}", "delivery", now, channel="email")
        for i in range(n)
    ]
    invitations = store.invite(requests, actor="bench")
    rows = [
        {
            "invitation_id": invitation.id,
            "submitted_at": now,
            "lang": "nl",
            "overall": float(1 + i % 5),
            "comment": f"Bezorging {i} was prima, de chauffeur was vriendelijk.",
            "answers": json.dumps({"overall": 1 + i % 5}),
            "digest": "0" * 64,
        }
        for i, invitation in enumerate(invitations)
    ]
    with store.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(m.responses), rows[start : start + 5000])
    key = store.add_api_key("bench-export")
    store.engine.dispose()
    return key


def start_server(db: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PEAKEND_SURVEY_DB": db,
        "PEAKEND_SURVEY_QUESTIONNAIRES": str(QUESTIONNAIRES),
    }
    command = [sys.executable, "-m", "peakend", "survey", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    command += ["--max-connections", "2000"]
    return subprocess.Popen(command, env=env)


def wait_until_up(port: int, timeout_s: float = 120) -> float:
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the service did not start within {timeout_s:.0f} s")


def service_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and all its descendants (Linux /proc)."""
    total = 0.0
    for child in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = [int(c) for c in children]
    for child in list(found):
        found += descendants(child)
    return found


def with_application_name(db: str, name: str) -> str:
    """``db`` with ``application_name`` set, so the service's server processes can be found."""
    return f"{db}{'&' if '?' in db else '?'}application_name={name}"


class PostgresCpu:
    """CPU seconds of the PostgreSQL server processes of one application (same host only)."""

    def __init__(self, db: str, application: str) -> None:
        import sqlalchemy as sa

        from peakend.survey.database import make_engine

        self.engine = make_engine(db)
        self.query = sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
        self.application = application
        self.seen: set[int] = set()
        """Every server process seen: more than the pool size means connections churned."""

    def sample(self) -> dict[int, float]:
        with self.engine.connect() as connection:
            pids = connection.execute(self.query, {"name": self.application}).scalars().all()
        self.seen.update(int(pid) for pid in pids)
        return {int(pid): service_cpu_s(int(pid)) for pid in pids}

    def close(self) -> None:
        self.engine.dispose()


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


def submission(token: str, i: int) -> bytes:
    body = answers(i)
    head = (
        f"POST /api/v1/forms/{token}/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def form_page(token: str) -> bytes:
    return f"GET /s/{token} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    cpu_s: float = 0.0
    postgres_cpu_s: float | None = None

    def add(self, latency: float, status: int) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """Send one request on a keep-alive connection; (status, body) of its answer."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return int(status_line.split()[1]), body


async def closed_loop(port: int, requests: list[bytes], concurrency: int) -> Result:
    """``concurrency`` connections, each sending its next request after the last answer."""
    result = Result()
    queue = list(reversed(requests))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                request = queue.pop()
                started = time.perf_counter()
                status, _ = await exchange(reader, writer, request)
                result.add(time.perf_counter() - started, status)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
    return result


async def open_loop(
    port: int, requests: list[bytes], rate: float, side_job: asyncio.Future[None] | None = None
) -> Result:
    """Requests scheduled at ``rate`` per second; latency from the scheduled time."""
    result = Result()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened = 0

    async def send(request: bytes, due: float) -> None:
        nonlocal opened
        if idle:
            reader, writer = idle.pop()
        else:
            opened += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            status, _ = await exchange(reader, writer, request)
        except (IndexError, ConnectionError, asyncio.IncompleteReadError):
            # the service closed this keep-alive connection while it sat idle (its
            # keep-alive timeout): send the request again on a new one, as a browser does
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status, _ = await exchange(reader, writer, request)
        result.add(time.perf_counter() - due, status)
        idle.append((reader, writer))

    start = time.perf_counter() + 0.05
    tasks = []
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        while opened - len(idle) >= MAX_OPEN_CONNECTIONS:  # a stalled service: stop adding
            await asyncio.sleep(0.001)
        tasks.append(asyncio.create_task(send(request, due)))
    await asyncio.gather(*tasks)
    if side_job is not None:
        await side_job
    result.elapsed = time.perf_counter() - start
    for _, writer in idle:
        writer.close()
    return result


async def download_export(port: int, key: str, after_s: float, report: dict[str, float]) -> None:
    await asyncio.sleep(after_s)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"GET /api/v1/export?format=csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    status, body = await exchange(reader, writer, request)
    report["export_s"] = time.perf_counter() - started
    report["export_status"] = status
    report["export_bytes"] = len(body)
    writer.close()


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def report(name: str, result: Result, rate: float | None = None) -> None:
    n = len(result.latencies)
    achieved = n / result.elapsed if result.elapsed else 0.0
    print(f"{name}.requests: {n}")
    if rate is not None:
        print(f"{name}.target_per_s: {rate:.0f}")
    print(f"{name}.per_s: {achieved:.0f}")
    others = {k: v for k, v in result.statuses.items() if k not in (200, 201)}
    print(f"{name}.other_statuses: {json.dumps(others)}")
    for q in (0.5, 0.9, 0.99):
        print(f"{name}.p{int(q * 100)}_ms: {1000 * percentile(result.latencies, q):.1f}")
    print(f"{name}.max_ms: {1000 * max(result.latencies, default=float('nan')):.1f}")
    if n:
        print(f"{name}.server_cpu_ms_per_request: {1000 * result.cpu_s / n:.2f}")
    if n and result.postgres_cpu_s is not None:
        print(f"{name}.postgres_cpu_ms_per_request: {1000 * result.postgres_cpu_s / n:.2f}")
    if rate is not None:
        sustained = achieved >= 0.95 * rate and percentile(result.latencies, 0.99) <= 0.1
        print(f"{name}.sustained: {'yes' if sustained else 'no'}")


def stored(db: str) -> int:
    from peakend.survey.store import SurveyStore

    store = SurveyStore.open(db, {})
    count = store.counts()["responses"]
    store.engine.dispose()
    return count


def measured(
    pid: int, run: asyncio.Future[Result] | object, postgres: PostgresCpu | None = None
) -> Result:
    """Run ``run``; its result with the CPU time the service (and PostgreSQL) spent meanwhile.

    A server process that started during the run counts from zero, one that
    ended during it is missed (the service's connection pool keeps them open).
    """
    cpu_before = service_cpu_s(pid)
    postgres_before = postgres.sample() if postgres else {}
    result: Result = asyncio.run(run)  # type: ignore[arg-type]
    result.cpu_s = service_cpu_s(pid) - cpu_before
    if postgres is not None:
        after = postgres.sample()
        result.postgres_cpu_s = sum(cpu - postgres_before.get(p, 0.0) for p, cpu in after.items())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--requests", type=int, default=3000, help="closed-loop submissions")
    parser.add_argument("--concurrency", type=int, default=8, help="closed-loop connections")
    parser.add_argument("--rates", default="200,400,600", help="open-loop rates (per s); '' = none")
    parser.add_argument("--seconds", type=float, default=8, help="duration of each open-loop rate")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of the service")
    parser.add_argument("--warmup", type=int, default=200, help="submissions before measuring")
    parser.add_argument("--export-rows", type=int, default=0, help="answers stored before")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    n_open = [int(rate * args.seconds) for rate in rates]
    run_id = uuid.uuid4().hex[:8]

    with tempfile.TemporaryDirectory() as folder:
        db = args.db or str(Path(folder) / "survey.db")
        key = prefill(db, args.export_rows, run_id) if args.export_rows else ""
        stored_before = stored(db)
        n_total = args.warmup + args.requests + sum(n_open)
        tokens = prepare(db, n_total, run_id)
        port = free_port()
        postgres = None
        service_db = db
        if db.startswith(("postgresql", "postgres:")) and Path("/proc").is_dir():
            service_db = with_application_name(db, f"peakend-bench-{run_id}")
            postgres = PostgresCpu(db, f"peakend-bench-{run_id}")
        server = start_server(service_db, port, args.workers)
        export_report: dict[str, float] = {}
        try:
            start_s = wait_until_up(port)
            warm = [submission(t, i) for i, t in enumerate(tokens[: args.warmup])]
            asyncio.run(closed_loop(port, warm, args.concurrency))
            closed_tokens = tokens[args.warmup : args.warmup + args.requests]
            pages = measured(
                server.pid,
                closed_loop(port, [form_page(t) for t in closed_tokens[:1000]], args.concurrency),
                postgres,
            )
            closed = measured(
                server.pid,
                closed_loop(
                    port,
                    [submission(t, i) for i, t in enumerate(closed_tokens)],
                    args.concurrency,
                ),
                postgres,
            )
            open_results = []
            offset = args.warmup + args.requests
            for rate, n in zip(rates, n_open, strict=True):
                batch = [submission(t, i) for i, t in enumerate(tokens[offset : offset + n])]
                offset += n

                async def phase(batch: list[bytes] = batch, rate: float = rate) -> Result:
                    side = None
                    if key:
                        side = asyncio.ensure_future(
                            download_export(port, key, args.seconds / 4, export_report)
                        )
                    return await open_loop(port, batch, rate, side)

                open_results.append((rate, measured(server.pid, phase(), postgres)))
        finally:
            server.terminate()
            server.wait(timeout=30)
            if postgres is not None:
                postgres.close()
        n_stored = stored(db) - stored_before

    acknowledged = sum(r.statuses.get(201, 0) for r in [closed] + [res for _, res in open_results])
    database = "sqlite" if args.db is None else args.db.split(":", 1)[0]
    print(f"survey.database: {database}")
    print(f"survey.workers: {args.workers}")
    print(f"survey.load_average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"survey.cores: {os.cpu_count()}")
    print(f"survey.service_start_s: {start_s:.2f}")
    print(f"survey.form_pages_per_s: {len(pages.latencies) / pages.elapsed:.0f}")
    print(f"survey.form_page_p99_ms: {1000 * percentile(pages.latencies, 0.99):.1f}")
    print(f"survey.form_page_cpu_ms: {1000 * pages.cpu_s / len(pages.latencies):.2f}")
    if postgres is not None:
        print(f"survey.postgres_processes_seen: {len(postgres.seen)}")
    print(f"survey.closed.concurrency: {args.concurrency}")
    report("survey.closed", closed)
    for rate, result in open_results:
        report(f"survey.open_{rate:.0f}", result, rate)
    if export_report:
        print(f"survey.export_rows: {args.export_rows}")
        print(f"survey.export_status: {export_report['export_status']:.0f}")
        print(f"survey.export_s: {export_report['export_s']:.2f}")
        print(f"survey.export_mb: {export_report['export_bytes'] / 1e6:.1f}")
    print(f"survey.acknowledged: {acknowledged}")
    print(f"survey.stored_new: {n_stored}")
    if n_stored != args.warmup + acknowledged:
        raise SystemExit(
            f"stored {n_stored} new answers for {args.warmup + acknowledged} acknowledged"
        )


if __name__ == "__main__":
    main()
