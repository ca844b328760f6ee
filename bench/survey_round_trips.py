"""PostgreSQL submissions: round trips and CPU per submission, pipelined against one at a time.

Run from the repository root against a PostgreSQL server on the same host::

    python bench/survey_round_trips.py --db postgresql://peakend:peakend@127.0.0.1/peakend

The script makes a fresh schema, stores ``--submissions`` answers through
:meth:`SurveyStore.submit` one after the other with each write path, and prints
per submission: the round trips to the server (``ReadyForQuery`` messages in
libpq's protocol trace, over a shorter traced pass), the CPU time of the calling
process, the CPU time of the PostgreSQL server process serving it (from
/proc), and the wall time; then the ratio of the general path (SQLAlchemy, one
statement at a time, as before) to the pipelined one (:mod:`peakend.survey.pgsubmit`).
The schema is dropped at the end. Output is ``name: value`` lines.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from peakend.survey.database import make_engine, upgrade
from peakend.survey.questionnaire import read_questionnaires
from peakend.survey.store import InvitationRequest, SurveyStore

REPO = Path(__file__).resolve().parents[1]
QUESTIONNAIRES = read_questionnaires(REPO / "examples" / "questionnaires")
ANSWERS = {"success": "yes", "effort": 3, "emotion": 2, "overall": 4}
CLK_TCK = os.sysconf("SC_CLK_TCK")
TRACED = 50


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def backend_pid(store: SurveyStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def tokens(store: SurveyStore, n: int, tag: str) -> list[str]:
    now = datetime.now(UTC)
    requests = [InvitationRequest(f"{tag}-{i}", f"J{i}", "delivery", now) for i in range(n)]
    return [invitation.token for invitation in store.invite(requests, actor="bench")]


def round_trips(store: SurveyStore, links: list[str]) -> float:
    """Round trips per submission over ``links``, from libpq's protocol trace."""
    with tempfile.NamedTemporaryFile("w+", suffix=".trace") as trace:
        raw = store.engine.raw_connection()
        pgconn: Any = raw.driver_connection.pgconn  # type: ignore[union-attr]
        raw.close()  # back to the pool: with one caller, every submission uses it
        pgconn.trace(trace.fileno())
        for token in links:
            store.submit(token, ANSWERS)
        pgconn.untrace()
        trace.seek(0)
        ready = sum(1 for line in trace if "\tB\t" in line and "\tReadyForQuery" in line)
    return ready / len(links)


def measure(db: str, n: int, *, pipeline: bool) -> dict[str, float]:
    store = SurveyStore(make_engine(db), QUESTIONNAIRES, pipeline=pipeline)
    store.engine.pool.dispose()
    links = tokens(store, n + TRACED + 20, f"R{uuid.uuid4().hex[:6]}")
    for token in links[:20]:  # warm-up: connection, prepared statements
        store.submit(token, ANSWERS)
    trips = round_trips(store, links[20 : 20 + TRACED])
    pid = backend_pid(store)
    server_before, cpu_before = process_cpu_s(pid), time.process_time()
    started = time.perf_counter()
    for token in links[20 + TRACED :]:
        store.submit(token, ANSWERS)
    wall = time.perf_counter() - started
    result = {
        "round_trips": trips,
        "client_cpu_ms": 1000 * (time.process_time() - cpu_before) / n,
        "postgres_cpu_ms": 1000 * (process_cpu_s(pid) - server_before) / n,
        "wall_ms": 1000 * wall / n,
    }
    store.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="postgresql:// URL (server on this host)")
    parser.add_argument("--submissions", type=int, default=2000)
    args = parser.parse_args()
    schema = f"bench_round_trips_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.db)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in args.db else "?"
    db = f"{args.db}{sep}options=-csearch_path%3D{schema}"
    try:
        upgrade(make_engine(db))
        general = measure(db, args.submissions, pipeline=False)
        pipelined = measure(db, args.submissions, pipeline=True)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    print(f"round_trips.submissions: {args.submissions}")
    print(f"round_trips.load_average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, figures in (("general", general), ("pipelined", pipelined)):
        for key, value in figures.items():
            print(f"round_trips.{name}.{key}: {value:.2f}")
    for key in general:
        print(f"round_trips.ratio_general_to_pipelined.{key}: {general[key] / pipelined[key]:.2f}")


if __name__ == "__main__":
    main()
