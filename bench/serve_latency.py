"""`peakend serve` benchmark: answer → case latency and widget fragment latency.

Run from the repository root::

    python bench/serve_latency.py                       # 2,000 stored answers, 20 viewers
    python bench/serve_latency.py --answers 20000 --viewers 20
    python bench/serve_latency.py --answers 1000000    # bulk-loaded through the store's tables
    python bench/serve_latency.py --answers 1000000 --period 28d   # also with a period filter

The script fills a SQLite survey database with answers (delivery scores from the
airline passenger satisfaction survey, "Baggage Handling" 1-5, and Dutch
comments from the XED subtitles in ``/work/shared/data`` or ``--data``), spread
over eight weeks; adds a case owner with ``peakend users add``; starts the whole
command ``peakend serve`` on a free loopback port with an alert rules file
(overall ≤ 1, comment ending negatively); logs in as a browser does, and measures

* **answer → case**: for ``--alerts`` new invitations, the time from sending an
  answer with overall 1 (the survey's JSON API) until the case is listed by
  ``/api/v1/cases``, polled every 20 ms;
* **fragments**: ``--viewers`` concurrent sessions each loading every widget
  fragment ``--rounds`` times (p50 / p95 / max);
* against the obvious alternative, computing the widgets in the request: the
  time of one :meth:`WidgetCache.refresh` on the same database, as a ratio to
  the cached fragment's p50;
* the refresh itself: the first one (above: every comment read, each distinct
  text scored), the next one after 1,000 new answers (only those are scored), and
  the former way, reading every invitation and answer into Python and grouping
  there (comment labels not even counted), as a ratio to the incremental one;
* with ``--period`` (e.g. ``28d``): the fragments again with that period filter
  on every widget (the service then keeps the filtered figures up to date on
  each refresh), the refresh with the filter in use, and computing the filtered
  widgets from every answer read into Python (what a refresh did for a period
  filter before the day sums answered it), as a ratio.

Above 50,000 answers the database is bulk-loaded: invitations and answers are
inserted directly into the store's tables in batches (no signing or
validation per answer), and the stored answers are marked as already checked by
the alert rules, so the rules run only on the new answers of the alert test.

Output is ``name: value`` lines; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
QUESTIONNAIRES = REPO / "examples" / "questionnaires"
DATA = Path(os.environ.get("PEAKEND_DATA", REPO.parent / "shared" / "data"))
WIDGETS = ["responses", "score_trend", "endings", "cases", "case_report"]
RULES = """
[[rule]]
id = "very-low"
kind = "score_at_most"
cut = 1
touchpoint = "delivery"

[[rule]]
id = "ends-badly"
kind = "negative_ending"
touchpoint = "delivery"
"""
PASSWORD = "bench password 1"


def real_answers(data: Path, n: int) -> list[tuple[int, str | None]]:
    """(overall 1-5, Dutch comment or None) pairs from the two real datasets."""
    with gzip.open(
        data / "airline_passenger_satisfaction" / "airline_passenger_satisfaction.csv.gz", "rt"
    ) as f:
        scores = [
            int(r["Baggage Handling"]) for r in csv.DictReader(f) if r["Baggage Handling"] != "0"
        ]
    lines = (
        (data / "xed_emotion_nl_en" / "nl-projections.tsv").read_text(encoding="utf-8").splitlines()
    )
    texts = [line.split("\t")[0] for line in lines if line.strip()]
    return [(scores[i % len(scores)], texts[i % len(texts)] if i % 2 else None) for i in range(n)]


BULK = 50_000


def bulk_prefill(db: str, n: int, data: Path, *, start: int = 0, checked: bool = True) -> str:
    """Insert ``n`` answered invitations straight into the tables; returns an admin key."""
    import sqlalchemy as sa

    from peakend.survey import models as m
    from peakend.survey.questionnaire import read_questionnaires
    from peakend.survey.store import SurveyStore

    store = SurveyStore.open(db, read_questionnaires(QUESTIONNAIRES))
    now = datetime.now(UTC)
    answers = real_answers(data, n)
    step = 20_000
    with store.engine.begin() as connection:
        first_id = int(connection.execute(sa.select(sa.func.max(m.responses.c.id))).scalar() or 0)
        for lo in range(0, n, step):
            part = range(lo, min(n, lo + step))
            connection.execute(
                sa.insert(m.invitations),
                [
                    {
                        "id": f"bulk{start + i}",
                        "customer_id": f"C{start + i}",
                        "journey_id": f"J{start + i}",
                        "touchpoint": "delivery",
                        "questionnaire": "delivery",
                        "event_ts": now - timedelta(days=56 * i / n),
                        "lang": "nl",
                        "created_at": now,
                        "expires_at": now + timedelta(days=30),
                        "created_by": "bench",
                    }
                    for i in part
                ],
            )
            connection.execute(
                sa.insert(m.responses),
                [
                    {
                        "invitation_id": f"bulk{start + i}",
                        "submitted_at": now - timedelta(days=56 * i / n) + timedelta(hours=2),
                        "lang": "nl",
                        "overall": float(answers[i][0]),
                        "comment": answers[i][1],
                        "answers": json.dumps(
                            {"overall": answers[i][0], "comment": answers[i][1]},
                            ensure_ascii=False,
                        ),
                        "digest": "0" * 64,
                    }
                    for i in part
                ],
            )
        if checked:
            connection.execute(
                sa.insert(m.alert_checks).from_select(
                    ["response_id", "checked_at"],
                    sa.select(m.responses.c.id, sa.literal(now, sa.DateTime(timezone=True))).where(
                        m.responses.c.id > first_id
                    ),
                )
            )
    key = store.add_api_key("bench")
    store.engine.dispose()
    return key


def prefill(db: str, n: int, data: Path) -> str:
    """Store ``n`` answered invitations through the store's invite; returns an admin API key."""
    if n > BULK:
        return bulk_prefill(db, n, data)
    import sqlalchemy as sa

    from peakend.survey import models as m
    from peakend.survey.questionnaire import read_questionnaires
    from peakend.survey.store import InvitationRequest, SurveyStore

    store = SurveyStore.open(db, read_questionnaires(QUESTIONNAIRES))
    now = datetime.now(UTC)
    answers = real_answers(data, n)
    requests = [
        InvitationRequest(f"C{i}", f"J{i}", "delivery", now - timedelta(days=56 * i / n))
        for i in range(n)
    ]
    invitations = store.invite(requests, actor="bench")
    rows = [
        {
            "invitation_id": inv.id,
            "submitted_at": inv.ts + timedelta(hours=2),
            "lang": "nl",
            "overall": float(score),
            "comment": comment,
            "answers": json.dumps({"overall": score, "comment": comment}, ensure_ascii=False),
            "digest": "0" * 64,
        }
        for inv, (score, comment) in zip(invitations, answers, strict=True)
    ]
    with store.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(m.responses), rows[start : start + 5000])
    key = store.add_api_key("bench")
    store.engine.dispose()
    return key


def login(
    base: str, *, name: str = "olga", password: str = PASSWORD, timeout_s: float = 30
) -> httpx.Client:
    """A client logged in to the dashboard as a browser is (login token, then the form)."""
    client = httpx.Client(base_url=base, timeout=timeout_s)
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"login_token": token.group(1), "name": name, "password": password}
    assert client.post("/login", data=form).status_code == 303
    return client


def wait_for(
    check: Callable[[], bool], timeout: float, what: str, *, poll_s: float = 0.02
) -> float:
    """Seconds until ``check()`` is true (HTTP errors count as not yet); exits after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(poll_s)
    raise SystemExit(f"{what} did not happen within {timeout:.0f} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--period", default="", help="also measure with this period filter")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="peakend-serve-"))
    db = str(folder / "survey.db")
    rules = folder / "alerts.toml"
    rules.write_text(RULES)
    started = time.monotonic()
    key = prefill(db, args.answers, args.data)
    print(f"prefill_s: {time.monotonic() - started:.1f} ({args.answers} answers)")
    env = {**os.environ, "PEAKEND_SURVEY_DB": db, "PEAKEND_PASSWORD": PASSWORD}
    peakend = [sys.executable, "-m", "peakend"]
    subprocess.run(
        [*peakend, "users", "add", "--name", "olga", "--role", "case_owner", "--units", "*"],
        env=env,
        check=True,
    )
    with socket_port() as port:
        pass
    base = f"http://127.0.0.1:{port}"
    command = [*peakend, "serve", "-q", str(QUESTIONNAIRES), "--rules", str(rules)]
    server = subprocess.Popen([*command, "--port", str(port), "--widget-interval", "30"], env=env)
    try:
        started = time.monotonic()
        wait_for(lambda: httpx.get(f"{base}/api/v1/health").status_code == 200, 120, "start")
        print(f"start_s: {time.monotonic() - started:.2f}")
        client = login(base)
        ready = wait_for(
            lambda: client.get("/api/v1/widgets/endings").status_code == 200, 600, "widgets"
        )
        print(
            f"widgets_first_computed_s: {time.monotonic() - started:.2f} (after login {ready:.2f})"
        )
        cases = lambda: client.get("/api/v1/case-report").json()["data"]["n_cases"]  # noqa: E731
        previous = -1
        while (now := cases()) != previous:  # the first pass over the stored answers
            previous = now
            time.sleep(6)  # longer than the case report is reused (5 s)
        print(f"cases_from_stored_answers: {previous}")
        measure_alerts(base, client, key, args.alerts)
        measure_fragments(base, args.viewers, args.rounds)
        if args.period:
            query = f"period={args.period}"
            took = wait_for(
                lambda: client.get(f"/api/v1/widgets/endings?{query}").status_code == 200,
                600,
                "filtered widgets",
            )
            print(f"filtered_first_computed_s: {took:.2f} (period {args.period})")
            time.sleep(35)  # past the next refresh, which keeps the filter up to date
            measure_fragments(base, args.viewers, args.rounds, query=query)
        cache = compare_with_computing(db, args)
        measure_refresh(db, cache, args)
        print(f"load_average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    finally:
        server.terminate()
        server.wait(30)


class socket_port:
    """A free loopback port."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        return None


def measure_alerts(base: str, client: httpx.Client, key: str, n: int) -> None:
    admin = {"Authorization": f"Bearer {key}"}
    now = datetime.now(UTC).isoformat()
    body = {
        "invitations": [
            {"customer_id": f"A{i}", "journey_id": f"AJ{i}", "touchpoint": "delivery", "ts": now}
            for i in range(n)
        ]
    }
    links = httpx.post(f"{base}/api/v1/invitations", json=body, headers=admin).json()["data"]
    answer = {"success": "no", "effort": 5, "emotion": 1, "overall": 1}
    latencies, submits = [], []
    for link in links:
        sent = time.monotonic()
        response = httpx.post(
            f"{base}/api/v1/forms/{link['token']}/responses", json={"answers": answer}
        )
        assert response.status_code == 201, response.text
        submits.append(time.monotonic() - sent)
        wait_for(
            lambda link=link: any(
                c["customer_id"] == link["customer_id"]
                for c in client.get("/api/v1/cases?limit=20").json()["data"]
            ),
            10,
            "a case",
        )
        latencies.append(time.monotonic() - sent)
    print(f"answer_submit_ms_p50: {1000 * statistics.median(submits):.1f}")
    print(
        f"answer_to_case_s: median {statistics.median(latencies):.2f}, max {max(latencies):.2f} "
        f"(n = {len(latencies)}; target ≤ 5)"
    )


def measure_fragments(base: str, viewers: int, rounds: int, query: str = "") -> None:
    clients = [login(base) for _ in range(viewers)]
    suffix = f"?{query}" if query else ""
    label = f" ({query})" if query else ""
    times: dict[str, list[float]] = {w: [] for w in WIDGETS}
    lock = threading.Lock()

    def view(client: httpx.Client) -> None:
        for _ in range(rounds):
            for widget in WIDGETS:
                sent = time.monotonic()
                response = client.get(f"/dashboard/widgets/{widget}{suffix}")
                took = time.monotonic() - sent
                assert response.status_code == 200
                with lock:
                    times[widget].append(took)

    threads = [threading.Thread(target=view, args=(c,)) for c in clients]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    every = [t for values in times.values() for t in values]
    for widget, values in times.items():
        print(
            f"fragment_ms {widget}{label}: p50 {1000 * statistics.median(values):.0f}, "
            f"p95 {1000 * percentile(values, 0.95):.0f} (n = {len(values)})"
        )
    print(
        f"fragment_ms all{label}: p50 {1000 * statistics.median(every):.0f}, "
        f"p95 {1000 * percentile(every, 0.95):.0f}, max {1000 * max(every):.0f}; "
        f"{len(every) / wall:.0f} fragments/s with {viewers} concurrent viewers"
    )
    if not query:
        times_all.extend(every)


times_all: list[float] = []


def compare_with_computing(db: str, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The alternative: compute the widgets inside the request."""
    from peakend.dashboard.widgets import WidgetCache
    from peakend.survey.questionnaire import read_questionnaires
    from peakend.survey.store import SurveyStore

    store = SurveyStore.open(db, read_questionnaires(QUESTIONNAIRES))
    cache = WidgetCache(store)
    started = time.monotonic()
    cache.refresh()
    computed = time.monotonic() - started
    cached = statistics.median(times_all)
    print(
        f"compute_in_request_s: {computed:.2f} on {args.answers} answers "
        f"(comments scored from scratch); ratio to cached fragment p50: {computed / cached:.0f}x"
    )
    return cache


def measure_refresh(db: str, cache, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """The refresh after 1,000 new answers, against reading every answer into Python."""
    bulk_prefill(db, 1000, args.data, start=10_000_000)
    started = time.monotonic()
    cache.refresh()
    incremental = time.monotonic() - started
    started = time.monotonic()
    python_over_rows(cache.survey)
    rows = time.monotonic() - started
    print(f"refresh_after_1000_new_answers_s: {incremental:.2f}")
    print(
        f"python_over_every_row_s: {rows:.2f} (the former refresh, without scoring comments); "
        f"ratio to the incremental refresh: {rows / incremental:.1f}x"
    )
    if args.period:
        measure_period_refresh(cache, args.period)


def measure_period_refresh(cache, period: str) -> None:  # type: ignore[no-untyped-def]
    """A refresh with a period filter in use, against computing the filter from every answer."""
    from peakend.dashboard.filters import Filter

    flt = Filter(period=period)
    cache.get("endings", flt)
    cache.compute_pending()  # the filter's first computation
    started = time.monotonic()
    cache.refresh()
    with_filter = time.monotonic() - started
    started = time.monotonic()
    computed = cache._compute(cache._read_rows(), flt)
    from_rows = time.monotonic() - started
    n = computed["endings"].n_answers
    print(f"refresh_with_period_filter_s: {with_filter:.2f} (period {period}; {n} answers in it)")
    print(
        f"period_filter_from_every_answer_s: {from_rows:.2f} (every answer read into Python, "
        f"the filter computed there); ratio to the whole refresh: {from_rows / with_filter:.1f}x"
    )


def python_over_rows(store) -> None:  # type: ignore[no-untyped-def]
    """The former refresh: every invitation and answer into Python, grouped there."""
    from collections import defaultdict

    import sqlalchemy as sa

    from peakend.survey import models as m

    events = sa.select(
        m.invitations.c.touchpoint,
        m.invitations.c.event_ts,
        m.responses.c.id,
        m.responses.c.overall,
        m.responses.c.comment,
    ).select_from(
        m.invitations.outerjoin(m.responses, m.responses.c.invitation_id == m.invitations.c.id)
    )
    rows = store.read_snapshot(lambda c: c.execute(events).all())
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        day = r.event_ts.date()
        monday = (day - timedelta(days=day.weekday())).isoformat()
        if r.overall is not None:
            cells[(r.touchpoint, monday)].append(float(r.overall))
    assert cells


if __name__ == "__main__":
    main()
