"""Screenshot of the dashboard of ``peakend demo --serve``, for the README and docs/dashboard.md.

Runs the demo service in this process (a fresh demo survey database in a
temporary folder, the demo dataset's analyses), logs in with headless Chromium
(``$PEAKEND_CHROMIUM`` or ``chromium`` on PATH) through Playwright, waits until
every widget has drawn, and writes ``dashboard.png`` into the folder given
(default ``docs/images``). Fails when the page logs a console error or asks
anything of another machine. Run by ``make dashboard-image``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

from peakend.dashboard.app import ServeSettings, create_serve_app
from peakend.dashboard.demo import DEMO_USER, prepare_demo
from peakend.survey.app import SurveySettings

PASSWORD = "demo screenshot password"
PORT = 8791
VIEWPORT = {"width": 1400, "height": 1000}
HEIGHT = 2000


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        setup = prepare_demo(Path(folder), PASSWORD)
        settings = ServeSettings(
            SurveySettings(db=str(setup.db), questionnaires=setup.questionnaires),
            rules=setup.rules,
            layout=setup.layout,
            datasets=(setup.spec,),
        )
        app = create_serve_app(settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            shoot(f"http://127.0.0.1:{PORT}", out)
        finally:
            server.should_exit = True
            thread.join(timeout=60)


def shoot(base: str, out: Path) -> None:
    chromium = os.environ.get("PEAKEND_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Chromium: install it or set PEAKEND_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_context(viewport=VIEWPORT).new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(base) else problems.append(r.url))
        page.goto(f"{base}/login")
        page.get_by_label("User name").fill(DEMO_USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        wait_until_drawn(page)
        out.mkdir(parents=True, exist_ok=True)
        # The README shows the top of the page; the whole page is long.
        page.set_viewport_size({"width": VIEWPORT["width"], "height": HEIGHT})
        page.screenshot(path=str(out / "dashboard.png"))
        browser.close()
    if problems:
        raise SystemExit(f"the dashboard had problems: {problems}")
    print(f"wrote {out / 'dashboard.png'}")


def wait_until_drawn(page: Page, timeout_s: float = 90) -> None:
    """Until no widget is loading or computing and every chart is drawn."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = page.locator(".computing, .widget > p.muted:has-text('Loading')").count()
        charts = page.locator("[data-vega]").count()
        drawn = page.locator("[data-drawn=done]").count()
        if busy == 0 and charts and charts == drawn:
            return
        page.wait_for_timeout(500)
    page.screenshot(path="dashboard-timeout.png", full_page=True)
    stuck = page.locator("[data-vega]:not([data-drawn=done])")
    for i in range(stuck.count()):
        section = stuck.nth(i).locator("xpath=ancestor::section")
        print("not drawn:", section.get_attribute("id"), stuck.nth(i).get_attribute("data-drawn"))
    raise SystemExit(
        f"the widgets did not draw in time: {busy} busy, {drawn} of {charts} charts drawn"
        " (dashboard-timeout.png)"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images"))
