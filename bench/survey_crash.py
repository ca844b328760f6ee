"""Survey durability benchmark: SIGKILL the service under load, again and again.

Run from the repository root::

    python bench/survey_crash.py --kills 50                       # SQLite, one worker
    python bench/survey_crash.py --kills 50 --workers 2
    python bench/survey_crash.py --kills 50 --db postgresql://peakend:peakend@127.0.0.1/peakend

Each round starts the service (``python -m peakend.survey.server``, the module
``peakend survey serve`` runs its workers from) on a free port, sends a burst of
submissions from ``--clients`` threads, kills the service and all its workers
with SIGKILL after a random number of acknowledged answers, and checks the
database: every answer the client saw acknowledged (201) is stored, with the
same answers, exactly once. The next round restarts the service on the same
database (SQLite recovers its WAL). Output is ``name: value`` lines; the exit
status is 1 when any acknowledged answer was lost, duplicated or altered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty, Queue

import httpx

REPO = Path(__file__).resolve().parents[1]
QUESTIONNAIRES = REPO / "examples" / "questionnaires"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(i: int) -> dict[str, object]:
    return {"success": "yes", "effort": 1 + i % 7, "emotion": 1 + i % 5, "overall": 1 + i % 5}


def digest(i: int) -> str:
    return hashlib.sha256(json.dumps(answers(i), sort_keys=True).encode()).hexdigest()


def start(db: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PEAKEND_SURVEY_DB": db,
        "PEAKEND_SURVEY_QUESTIONNAIRES": str(QUESTIONNAIRES),
        "PEAKEND_SURVEY_PORT": str(port),
        "PEAKEND_SURVEY_WORKERS": str(workers),
    }
    command = [sys.executable, "-m", "peakend.survey.server"]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("the survey service did not start within 120 s")


def burst(port: int, jobs: Queue[tuple[int, str]], acknowledged: dict[int, str]) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        while True:
            try:
                i, token = jobs.get_nowait()
            except Empty:
                return
            try:
                reply = client.post(
                    f"/api/v1/forms/{token}/responses", json={"answers": answers(i)}
                )
            except httpx.TransportError:
                return
            if reply.status_code == 201:
                acknowledged[i] = token


def check(db: str, acknowledged: dict[int, str]) -> tuple[int, int, int]:
    """(lost, duplicated, altered) among the acknowledged answers."""
    import sqlalchemy as sa

    from peakend.survey import models as m
    from peakend.survey.database import make_engine

    engine = make_engine(db)
    ids = [token.split(".")[0] for token in acknowledged.values()]
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(m.responses.c.invitation_id, m.responses.c.digest).where(
                m.responses.c.invitation_id.in_(ids)
            )
        ).all()
    engine.dispose()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.invitation_id, []).append(row.digest)
    lost = sum(1 for token in acknowledged.values() if token.split(".")[0] not in found)
    duplicated = sum(1 for digests in found.values() if len(digests) > 1)
    altered = sum(
        1
        for i, token in acknowledged.items()
        if token.split(".")[0] in found and found[token.split(".")[0]][0] != digest(i)
    )
    return lost, duplicated, altered


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--links", type=int, default=150, help="submissions per round")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)

    from peakend.survey.questionnaire import read_questionnaires
    from peakend.survey.store import InvitationRequest, SurveyStore

    with tempfile.TemporaryDirectory() as folder:
        db = args.db or str(Path(folder) / "survey.db")
        store = SurveyStore.open(db, read_questionnaires(QUESTIONNAIRES))
        run_id = uuid.uuid4().hex[:8]
        now = datetime.now(UTC)
        totals = {"acknowledged": 0, "lost": 0, "duplicated": 0, "altered": 0}
        started = time.monotonic()
        for round_no in range(args.kills):
            requests = [
                InvitationRequest(f"K{run_id}-{round_no}-{i}", f"J{i}", "delivery", now)
                for i in range(args.links)
            ]
            tokens = [invitation.token for invitation in store.invite(requests, actor="bench")]
            port = free_port()
            server = start(db, port, args.workers)
            jobs: Queue[tuple[int, str]] = Queue()
            for job in enumerate(tokens):
                jobs.put(job)
            acknowledged: dict[int, str] = {}
            threads = [
                threading.Thread(target=burst, args=(port, jobs, acknowledged))
                for _ in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            kill_after = random.randint(5, args.links - 20)
            deadline = time.monotonic() + 30
            while len(acknowledged) < kill_after and time.monotonic() < deadline:
                time.sleep(0.001)
            os.killpg(server.pid, signal.SIGKILL)  # the service and every worker, mid-burst
            server.wait()
            for thread in threads:
                thread.join(timeout=30)
            lost, duplicated, altered = check(db, acknowledged)
            totals["acknowledged"] += len(acknowledged)
            totals["lost"] += lost
            totals["duplicated"] += duplicated
            totals["altered"] += altered
            print(
                f"round {round_no + 1}: {len(acknowledged)} acknowledged before the kill, "
                f"{lost} lost, {duplicated} duplicated, {altered} altered",
                file=sys.stderr,
            )
        store.engine.dispose()
    database = "sqlite" if args.db is None else args.db.split(":", 1)[0]
    print(f"crash.database: {database}")
    print(f"crash.workers: {args.workers}")
    print(f"crash.kills: {args.kills}")
    for name, value in totals.items():
        print(f"crash.{name}: {value}")
    print(f"crash.seconds: {time.monotonic() - started:.0f}")
    print(f"crash.load_average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if totals["lost"] or totals["duplicated"] or totals["altered"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
