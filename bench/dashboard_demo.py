"""`peakend demo --serve` benchmark: first start, analysis and filtered fragments, exports.

Run from the repository root::

    python bench/dashboard_demo.py                 # 10 viewers, 20 rounds
    python bench/dashboard_demo.py --viewers 20 --rounds 30

The script starts the whole command ``peakend demo --serve`` (a fresh demo survey
database in a temporary folder, the demo dataset's analyses) on a free loopback
port, and measures

* **first start**: until the service answers, and until every analysis widget
  of the demo dataset is computed (JSON 200);
* **fragments**: ``--viewers`` concurrent sessions (the demo admin, logged in as
  a browser does) each loading the fragments of the demo layout ``--rounds``
  times, unfiltered and with a period filter (after the filtered figures were
  computed): p50 / p95 / max per kind;
* **exports**: CSV and SVG of the focus plan and PNG of the moment matrix;
* against the obvious alternative, computing the analyses in the request: the
  time of loading the demo dataset and running the report's analyses on it in
  this process, as a ratio to the cached analysis fragment's p50.

Output is ``name: value`` lines; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_latency  # noqa: E402  (bench/serve_latency.py: login, waiting, percentiles)

PASSWORD = "bench demo password"
ANALYSES = ("moments", "memory", "hidden", "recovery", "churn", "focus")
SURVEY = ("score_trend", "endings", "verbatims", "responses")
FILTER = "period=2024-12-01..2024-12-31"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    return serve_latency.wait_for(check, timeout, what, poll_s=0.1)


def login(base: str) -> httpx.Client:
    return serve_latency.login(base, name="demo", password=PASSWORD, timeout_s=60)


percentile = serve_latency.percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="peakend-demo-serve-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PEAKEND_PASSWORD": PASSWORD}
    command = [sys.executable, "-m", "peakend", "demo", "--serve", "--out", str(folder)]
    server = subprocess.Popen([*command, "--port", str(port)], env=env)
    try:
        started = time.monotonic()
        wait_for(lambda: httpx.get(f"{base}/api/v1/health").status_code == 200, 300, "start")
        print(f"start_s: {time.monotonic() - started:.2f} (demo survey filled, service up)")
        client = login(base)
        for name in ANALYSES:
            url = f"/api/v1/analyses/demo/{name}"
            wait_for(lambda url=url: client.get(url).status_code == 200, 600, name)
        print(f"analyses_first_computed_s: {time.monotonic() - started:.2f}")
        for name in SURVEY:  # the filtered figures: computed on their first request
            url = f"/api/v1/widgets/{name}?{FILTER}"
            wait_for(lambda url=url: client.get(url).status_code == 200, 120, name)
        measure_fragments(base, args.viewers, args.rounds)
        measure_exports(client)
        compare_with_computing(measure_fragments.analysis_p50)  # type: ignore[attr-defined]
        print(f"load_average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    finally:
        server.terminate()
        server.wait(60)


def measure_fragments(base: str, viewers: int, rounds: int) -> None:
    kinds = {
        "analysis": [f"/dashboard/analyses/demo/{n}" for n in ANALYSES],
        "survey": [f"/dashboard/widgets/{n}" for n in SURVEY],
        "survey_filtered": [f"/dashboard/widgets/{n}?{FILTER}" for n in SURVEY],
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    lock = threading.Lock()
    clients = [login(base) for _ in range(viewers)]

    def view(client: httpx.Client) -> None:
        for _ in range(rounds):
            for kind, urls in kinds.items():
                for url in urls:
                    sent = time.monotonic()
                    response = client.get(url)
                    took = time.monotonic() - sent
                    assert response.status_code == 200 and "Computing" not in response.text
                    with lock:
                        times[kind].append(took)

    started = time.monotonic()
    threads = [threading.Thread(target=view, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    total = 0
    for kind, found in times.items():
        total += len(found)
        ms = [1000 * t for t in found]
        print(
            f"fragment_ms {kind}: p50 {statistics.median(ms):.0f}, p95 {percentile(ms, 0.95):.0f},"
            f" max {max(ms):.0f} (n = {len(ms)})"
        )
    print(f"fragments_per_s: {total / wall:.0f} with {viewers} concurrent viewers")
    measure_fragments.analysis_p50 = statistics.median(times["analysis"])  # type: ignore[attr-defined]


def measure_exports(client: httpx.Client) -> None:
    for url in (
        "/api/v1/analyses/demo/focus?format=csv",
        "/api/v1/analyses/demo/focus?format=svg",
        "/api/v1/analyses/demo/moments?format=png",
        "/api/v1/widgets/score_trend?format=png",
    ):
        sent = time.monotonic()
        response = client.get(url)
        took = 1000 * (time.monotonic() - sent)
        assert response.status_code == 200, response.text
        print(f"export_ms {url.split('/api/v1/')[1]}: {took:.0f} ({len(response.content)} bytes)")


def compare_with_computing(cached_p50_s: float) -> None:
    from peakend.datasets import demo_spec_path
    from peakend.load import load
    from peakend.report.build import build_report

    started = time.monotonic()
    dataset = load(demo_spec_path())
    loaded = time.monotonic()
    build_report(dataset)
    done = time.monotonic()
    print(
        f"compute_in_request_s: {done - started:.2f} (load {loaded - started:.2f},"
        f" analyses {done - loaded:.2f}); ratio to cached analysis fragment p50:"
        f" {(done - started) / cached_p50_s:.0f}x"
    )


if __name__ == "__main__":
    main()
