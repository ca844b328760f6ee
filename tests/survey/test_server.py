"""The service as it runs in production: light workers, request timeout, worker start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import EXAMPLES, free_port


def wait_for(port: int, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the service did not answer within {timeout_s:.0f} s")


def environment(db: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PEAKEND_SURVEY_DB": str(db),
        "PEAKEND_SURVEY_QUESTIONNAIRES": str(EXAMPLES),
        **extra,
    }


@pytest.fixture
def service(tmp_path: Path) -> Iterator[int]:
    """One worker with a 1 s request timeout, started as the CLI starts its workers."""
    port = free_port()
    env = environment(
        tmp_path / "survey.db", PEAKEND_SURVEY_PORT=str(port), PEAKEND_SURVEY_REQUEST_TIMEOUT_S="1"
    )
    process = subprocess.Popen([sys.executable, "-m", "peakend.survey.server"], env=env)
    try:
        wait_for(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_half_sent_requests_are_cut_off(service: int) -> None:
    sockets = []
    for n in range(30):
        sock = socket.create_connection(("127.0.0.1", service))
        sock.sendall(b"POST /api/v1/forms/x.1.y/responses HTTP/1.1\r\nHost: a\r\n")
        if n % 2:  # headers complete, body promised but never sent
            sock.sendall(b"Content-Length: 100\r\n\r\n{")
        sock.settimeout(15)
        sockets.append(sock)
    idle = socket.create_connection(("127.0.0.1", service))  # opens and sends nothing
    idle.settimeout(15)
    sockets.append(idle)
    closed = 0
    for sock in sockets:
        try:
            closed += sock.recv(1024) == b""
        except (ConnectionResetError, TimeoutError):
            closed += isinstance(sys.exc_info()[1], ConnectionResetError)
        finally:
            sock.close()
    assert closed == len(sockets)
    assert httpx.get(f"http://127.0.0.1:{service}/api/v1/health").status_code == 200


def test_workers_import_only_the_service() -> None:
    code = (
        "import sys, peakend.survey.server, peakend.survey.app;"
        "heavy = [m for m in ('pandas', 'scipy', 'pyarrow', 'peakend.models', 'peakend.load',"
        " 'peakend.cli') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == ""


def test_serve_with_two_workers_starts_and_answers(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "peakend", "survey", "serve", "--port", str(port)]
    command += ["--workers", "2", "--db", str(tmp_path / "survey.db"), "-q", str(EXAMPLES)]
    process = subprocess.Popen(command, env=environment(tmp_path / "survey.db"))
    try:
        wait_for(port, process)
        replies = {
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code for _ in range(20)
        }
        assert replies == {200}
    finally:
        process.terminate()
        process.wait(timeout=30)
