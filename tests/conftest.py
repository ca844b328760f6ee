"""Fixtures for what some tests need from the machine: a Chromium and Java.

Browser tests (the report's HTML in a real browser, the survey form) need a
Chromium; the Spark tests (marker ``spark``) need Java. Both are found the way
a user's machine has them: ``$PEAKEND_CHROMIUM`` or ``chromium`` on ``PATH``;
``$JAVA_HOME/bin/java`` or ``java`` on ``PATH``; never a hard-coded path.

Where one is missing, the tests that need it are skipped with a reason that
names the package to install (``make test`` installs both when it runs as root).
Under ``CI=true`` a missing one is a failure, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# No per-example deadline: property tests check behaviour, not speed, and a busy
# machine would turn a slow example into a failure (speed is measured in bench/).
settings.register_profile("peakend", deadline=None)
settings.load_profile("peakend")

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a headless Chromium in a container, offline and without a first-run dialog.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM_HELP = (
    "needs Chromium for the browser tests: install the package `chromium` "
    "(Debian/Ubuntu: apt-get install chromium) or set PEAKEND_CHROMIUM to its path"
)
JAVA_HELP = (
    "needs Java 17 for the Spark tests: install the package `openjdk-17-jre-headless` "
    "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
)


def find_chromium() -> str | None:
    """``$PEAKEND_CHROMIUM`` when set, else the first Chromium or Chrome on ``PATH``."""
    configured = os.environ.get("PEAKEND_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else shutil.which(configured)
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def find_java() -> str | None:
    """``$JAVA_HOME/bin/java`` when it exists, else ``java`` on ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def missing(reason: str) -> None:
    """Skip the test with ``reason``; on CI (``CI=true``) fail it instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and this test {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``spark`` need Java."""
    if item.get_closest_marker("spark") is not None and find_java() is None:
        missing(JAVA_HELP)


POSTGRES_FIXTURES = ("postgres_url", "postgres_db")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups of tests that stay on one worker with ``-n 2 --dist loadgroup``
    (``make test``): every test that uses the PostgreSQL server, one after another
    (the dataset cache keys a table by the server's write position, which a write by
    a test on the other worker would move), and the Spark tests of a module (one
    Spark session each, not one per worker)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if item.get_closest_marker("postgres") or any(f in fixtures for f in POSTGRES_FIXTURES):
            item.add_marker(pytest.mark.xdist_group("postgres"))
        elif item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.xdist_group(f"spark {item.nodeid.split('::')[0]}"))


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The machine's Chromium (skips, or fails on CI, when there is none)."""
    found = find_chromium()
    if found is None:
        missing(CHROMIUM_HELP)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[Any]:
    """A headless Chromium driven by Playwright, for the tests of one module.

    Module scope, not session: Playwright's synchronous API keeps an event loop running
    while it is open, which other modules' asyncio tests must not find.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("needs the Python package `playwright` (pip install 'peakend[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(params=["pandas", "duckdb"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with each loader (``PEAKEND_LOADER``): both must pass it."""
    name = str(request.param)
    monkeypatch.setenv("PEAKEND_LOADER", name)
    return name


@pytest.fixture
def postgres_url() -> str:
    """A PostgreSQL server's URL for tests that need one (:func:`postgres_url_for_tests`)."""
    return postgres_url_for_tests()


def postgres_url_for_tests() -> str:
    """The URL of the PostgreSQL server for tests (``.ci/postgres.sh`` starts one and
    exports ``PEAKEND_TEST_POSTGRES_URL``); skips the test without one, fails it on CI."""
    url = os.environ.get("PEAKEND_TEST_POSTGRES_URL")
    if not url:
        reason = "set PEAKEND_TEST_POSTGRES_URL (CI starts a server with .ci/postgres.sh)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but no PostgreSQL server: {reason}")
        pytest.skip(reason)
    return url
