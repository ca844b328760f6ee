"""Report benchmark: the whole ``peakend analyze`` command, its split per step, and its PDF step.

Run from the repository root::

    .venv/bin/python bench/report.py                          # the bundled demo data
    .venv/bin/python bench/report.py --spec examples/airline_passenger_satisfaction.toml
    .venv/bin/python bench/report.py --spec SPEC --split --baseline /path/to/older/checkout

It times ``peakend analyze SPEC`` as a user runs it (a separate process: HTML,
results.json, every chart as PNG and SVG, the Typst PDF): wall time, CPU time
(user + system of the process and its threads) and peak memory. ``--split``
runs the same analysis once more in a fresh process and prints wall and CPU
seconds per step (loading, each report section, HTML, charts, PDF).
``--baseline DIR`` also times the command with the peakend source of another
checkout (``DIR/src``, e.g. a ``git worktree`` of an earlier commit) and prints
the ratio. Then, on the report it wrote, the PDF step alone: Typst drawing
every chart itself, Typst reusing the charts/ SVGs (what ``analyze`` does), and
printing the same report.html with a headless Chromium (what peakend did
before; skipped when no Chromium is found on PATH or in ``$PEAKEND_CHROMIUM``;
``--no-pdf-compare`` skips all three). Output is ``name: value`` lines; quote
them with the machine's load (``uptime``), which this script prints.
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--split", action="store_true", help="also print seconds per step")
    parser.add_argument("--baseline", type=Path, help="checkout whose src/ to compare against")
    parser.add_argument("--no-pdf-compare", dest="pdf_compare", action="store_false")
    args = parser.parse_args()
    spec = args.spec or _demo_spec()
    print(f"load_average_before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="peakend-bench-report-") as tmp:
        out = Path(tmp) / "report"
        wall, cpu, rss = _timed([*_analyze_command(spec, out, args.lang)], None)
        print(f"analyze_total_s: {wall:.1f}")
        print(f"analyze_cpu_s: {cpu:.1f}  (user + system, all threads)")
        print(f"analyze_peak_rss_mb: {rss:.0f}")
        print(f"pdf_pages: {_pages(out / 'report.pdf')}")
        print(f"charts: {len(list((out / 'charts').glob('*')))}")
        if args.baseline is not None:
            src = args.baseline.resolve() / "src"
            base_out = Path(tmp) / "baseline"
            b_wall, b_cpu, b_rss = _timed(_analyze_command(spec, base_out, args.lang), src)
            print(f"baseline_total_s: {b_wall:.1f}  ({src})")
            print(f"baseline_cpu_s: {b_cpu:.1f}")
            print(f"baseline_peak_rss_mb: {b_rss:.0f}")
            print(f"baseline_over_analyze: {b_wall / wall:.2f}  (cpu {b_cpu / cpu:.2f})")
        if args.split:
            _print_split(spec, Path(tmp) / "split", args.lang)
        if args.pdf_compare:
            _pdf_compare(spec, args.lang, out, Path(tmp))
    print(f"load_average_after: {_load()}")
    return 0


def _analyze_command(spec: Path, out: Path, lang: str) -> list[str]:
    return [sys.executable, "-m", "peakend", "analyze", str(spec), "--out", str(out)] + [
        "--lang",
        lang,
    ]


def _timed(command: list[str], src: Path | None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of ``command`` as its own process."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


_SPLIT = """
import json, sys, time
from pathlib import Path
from peakend.report.build import analyze
marks = [("start", time.perf_counter(), time.process_time())]
def step(name):
    marks.append((name, time.perf_counter(), time.process_time()))
analyze(sys.argv[1], Path(sys.argv[2]), lang=sys.argv[3], progress=step)
step("end")
print(json.dumps([[a[0], b[1] - a[1], b[2] - a[2]] for a, b in zip(marks, marks[1:])]))
"""


def _print_split(spec: Path, out: Path, lang: str) -> None:
    """Wall and CPU seconds of every step of one analysis, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _SPLIT, str(spec), str(out), lang],
        check=True,
        capture_output=True,
        text=True,
    )
    for name, wall, cpu in json.loads(done.stdout.strip().splitlines()[-1]):
        if wall >= 0.005:
            print(f"step_{name}_s: {wall:.2f}  (cpu {cpu:.2f})")


def _pdf_compare(spec: Path, lang: str, out: Path, tmp: Path) -> None:
    typst_s = _typst_seconds(spec, lang, None)
    print(f"pdf_typst_s: {typst_s:.2f}  (every chart drawn as SVG for it)")
    reuse_s = _typst_seconds(spec, lang, out / "charts")
    print(f"pdf_typst_reusing_charts_s: {reuse_s:.2f}  (as analyze does: charts/ SVGs reused)")
    chromium = _chromium()
    if chromium is None:
        print("pdf_chromium_s: skipped (no Chromium on PATH or in PEAKEND_CHROMIUM)")
        return
    chromium_s = _chromium_seconds(chromium, out / "report.html", tmp / "chromium.pdf")
    print(f"pdf_chromium_s: {chromium_s:.2f}")
    print(f"pdf_chromium_over_typst: {chromium_s / typst_s:.2f}")
    print(f"pdf_chromium_over_typst_reusing_charts: {chromium_s / reuse_s:.1f}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
