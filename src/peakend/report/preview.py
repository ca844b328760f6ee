"""Page 1 of the demo report as PNG images (English and Dutch), for the README and the docs.

Run ``python -m peakend.report.preview docs/images`` (or ``make report-images``):
it analyses the bundled demo data and writes ``report-page1-en.png`` and
``report-page1-nl.png``, typeset by Typst exactly as in ``report.pdf``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from peakend.report.build import build_report, pdf_content
from peakend.report.i18n import LANGUAGES
from peakend.report.pdf import page_images

#: Pixels per inch of the preview (A4 at 110 ppi is about 910 × 1290 pixels).
PPI = 110


def write_previews(out_dir: Path, *, ppi: int = PPI) -> list[Path]:
    """Write page 1 of the demo report in every language to ``out_dir``; return the paths."""
    from peakend import __version__, load
    from peakend.datasets import demo_spec_path

    dataset = load(demo_spec_path())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in LANGUAGES:
        report = build_report(dataset, lang=lang)
        content = pdf_content(report, __version__)
        first = page_images(content, report.sections, report.skipped, ppi=ppi)[0]
        path = out_dir / f"report-page1-{lang}.png"
        path.write_bytes(first)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m peakend.report.preview OUT_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else Path("docs/images")
    for path in write_previews(out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
