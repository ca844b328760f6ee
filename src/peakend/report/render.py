"""Turn report sections into files: one self-contained HTML page and chart images.

The HTML embeds the Vega JavaScript (shipped by vl-convert) once and every
style inline, so it opens offline and can be mailed as one file; vega-embed
draws each chart's Vega-Lite specification in the browser. Chart images come
from vl-convert without a browser. The PDF is typeset by :mod:`peakend.report.pdf`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import jinja2

from peakend.report.i18n import Language, text
from peakend.report.section import Section, Skipped
from peakend.views.save import embed_script, save_charts, vega_javascript


def render_html(
    *,
    sections: list[Section],
    skipped: list[Skipped],
    summary: list[str],
    lang: Language,
    data_line: str = "",
    warning: str = "",
    dataset: str,
    subtitle: str,
    generated: str,
    version: str,
) -> str:
    """The report as one HTML document (UTF-8 text), all assets inline."""
    template = _environment().get_template("report.html.j2")
    charts = {
        chart.id: embed_script(f"chart-{chart.id}", chart.spec, lang=lang)
        for section in sections
        for chart in section.charts
    }
    references = sorted({ref for section in sections for ref in section.references})
    return template.render(
        lang=lang,
        version=version,
        title=text("title", lang),
        dataset=dataset,
        subtitle=subtitle,
        generated=generated,
        contents=text("contents", lang),
        summary_title=text("summary", lang),
        summary=summary,
        sections=sections,
        charts=charts,
        skipped=skipped,
        skipped_title=text("skipped", lang),
        skipped_intro=text("skipped_intro", lang),
        methods_title=text("methods", lang),
        references_title=text("references", lang),
        references=references,
        vega_js=vega_javascript().replace("</script", "<\\/script"),
        data_line=data_line,
        warning=warning,
    )


def write_chart_images(
    sections: list[Section], out_dir: Path, formats: tuple[str, ...], *, lang: Language = "en"
) -> list[Path]:
    """Write every chart as ``out_dir/charts/<id>.<fmt>`` (PNG, SVG or PDF; no browser)."""
    charts = [
        (chart.spec, out_dir / "charts" / chart.id)
        for section in sections
        for chart in section.charts
    ]
    return save_charts(charts, formats, lang=lang)


def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(_load_template)
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def _load_template(name: str) -> str:
    return files("peakend.report").joinpath("templates", name).read_text(encoding="utf-8")
