"""Fixtures for the survey service: questionnaires, stores on SQLite and PostgreSQL, an app.

The PostgreSQL stores need a server: ``eval "$(.ci/postgres.sh)"`` starts one and
exports ``PEAKEND_TEST_POSTGRES_URL``. Without it those tests skip, except on CI
(``CI=true``), where a missing server is a failure. Each PostgreSQL test gets its
own schema, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.conftest import postgres_url_for_tests

from peakend.survey.database import make_engine
from peakend.survey.questionnaire import Questionnaire, read_questionnaires
from peakend.survey.store import InvitationRequest, SurveyStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "questionnaires"
ANSWERS = {"success": "yes", "effort": 2, "emotion": 4, "overall": 5, "comment": "Prima"}


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served(app: Any, stop_timeout_s: float = 30) -> Iterator[str]:
    """Run the ASGI ``app`` with uvicorn in a thread on a free port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=stop_timeout_s)


@pytest.fixture(scope="session")
def questionnaires() -> dict[str, Questionnaire]:
    return read_questionnaires(EXAMPLES)


@pytest.fixture
def postgres_db() -> Iterator[str]:
    """A database URL whose tables live in a fresh schema of the test server."""
    url = postgres_url_for_tests()
    schema = f"survey_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A survey database URL: a SQLite file, or a schema on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "survey.db")
    return str(request.getfixturevalue("postgres_db"))


@pytest.fixture
def store(db: str, questionnaires: dict[str, Questionnaire]) -> Iterator[SurveyStore]:
    opened = SurveyStore.open(db, questionnaires)
    yield opened
    opened.engine.dispose()


def invitation_request(n: int = 1, touchpoint: str = "delivery", **extra: str) -> InvitationRequest:
    return InvitationRequest(
        customer_id=f"C{n}",
        journey_id=f"J{n}",
        touchpoint=touchpoint,
        ts=datetime(2025, 3, 1, 10, n % 60, tzinfo=UTC),
        **extra,  # type: ignore[arg-type]
    )


class AppClient:
    """A synchronous client for an ASGI app, in-process through httpx's ASGI transport."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
