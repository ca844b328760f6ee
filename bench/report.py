"""Report benchmark: the whole ``peakend analyze`` command, and its PDF step against Chromium.

Run from the repository root::

    .venv/bin/python bench/report.py                          # the bundled demo data
    .venv/bin/python bench/report.py --spec examples/airline_passenger_satisfaction.toml

It times ``peakend analyze SPEC`` as a user runs it (a separate process: HTML,
results.json, every chart as PNG and SVG, the Typst PDF), then, on the report it
wrote, the PDF step alone: Typst drawing every chart itself, Typst reusing the
charts/ SVGs (what ``analyze`` does), and printing the
same report.html with a headless Chromium (what peakend did before; skipped when
no Chromium is found on PATH or in ``$PEAKEND_CHROMIUM``). Output is
``name: value`` lines; quote them with the machine's load (``uptime``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, help="dataset spec (default: the demo data)")
    parser.add_argument("--lang", default="en")
    args = parser.parse_args()
    spec = args.spec or _demo_spec()
    with tempfile.TemporaryDirectory(prefix="peakend-bench-report-") as tmp:
        out = Path(tmp) / "report"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "peakend", "analyze", str(spec), "--out", str(out)]
            + ["--lang", args.lang],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"analyze_total_s: {time.perf_counter() - started:.1f}")
        print(f"pdf_pages: {_pages(out / 'report.pdf')}")
        print(f"charts: {len(list((out / 'charts').glob('*')))}")
        typst_s = _typst_seconds(spec, args.lang, None)
        print(f"pdf_typst_s: {typst_s:.2f}  (every chart drawn as SVG for it)")
        reuse_s = _typst_seconds(spec, args.lang, out / "charts")
        print(f"pdf_typst_reusing_charts_s: {reuse_s:.2f}  (as analyze does: charts/ SVGs reused)")
        chromium = _chromium()
        if chromium is None:
            print("pdf_chromium_s: skipped (no Chromium on PATH or in PEAKEND_CHROMIUM)")
            return 0
        chromium_s = _chromium_seconds(chromium, out / "report.html", Path(tmp) / "chromium.pdf")
        print(f"pdf_chromium_s: {chromium_s:.2f}")
        print(f"pdf_chromium_over_typst: {chromium_s / typst_s:.2f}")
        print(f"pdf_chromium_over_typst_reusing_charts: {chromium_s / reuse_s:.1f}")
    return 0


def _demo_spec() -> Path:
    from peakend.datasets import demo_spec_path

    return demo_spec_path()


def _typst_seconds(spec: Path, lang: str, chart_dir: Path | None) -> float:
    """Typeset the report's PDF (charts drawn as SVG included) from an already built report."""
    from peakend import __version__, load
    from peakend.report.build import build_report, pdf_content
    from peakend.report.pdf import typeset_pdf

    report = build_report(load(spec), lang=lang)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        typeset_pdf(
            pdf_content(report, __version__),
            report.sections,
            report.skipped,
            Path(tmp) / "r.pdf",
            chart_dir=chart_dir,
        )
        return time.perf_counter() - started


def _chromium() -> str | None:
    configured = os.environ.get("PEAKEND_CHROMIUM")
    if configured:
        return configured
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def _chromium_seconds(chromium: str, html: Path, pdf: Path) -> float:
    """Print ``html`` to PDF the way a browser-based report would (charts drawn first)."""
    with tempfile.TemporaryDirectory(prefix="peakend-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=20000",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        return time.perf_counter() - started


def _pages(pdf: Path) -> int:
    import pypdf

    return len(pypdf.PdfReader(pdf).pages)


if __name__ == "__main__":
    raise SystemExit(main())
