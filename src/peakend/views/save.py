"""Write charts as files without a browser: static PNG, SVG and PDF, and offline HTML.

Static images come from vl-convert, which runs Vega in an embedded JavaScript
engine (no Chromium, no network). The HTML form embeds the Vega, Vega-Lite and
vega-embed JavaScript that vl-convert ships, so it opens offline.
"""

from __future__ import annotations

import html
import importlib.metadata
import json
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

from peakend.errors import ConfigError, PeakendError, SourceError
from peakend.views.words import FORMAT_LOCALES, Language

FORMATS = ("html", "png", "svg", "pdf")
#: Pixel density of PNG images (2: sharp on slides and high-density screens).
PNG_SCALE = 2

Spec = dict[str, Any]


def to_spec(chart: alt.TopLevelMixin | Spec) -> Spec:
    """The Vega-Lite specification (a JSON-ready dict) of an Altair chart."""
    if isinstance(chart, dict):
        return chart
    spec: Spec = chart.to_dict()
    return spec


def chart_rows(chart: alt.TopLevelMixin | Spec) -> list[dict[str, Any]]:
    """Every inline data row of a chart, over all its layers (to check or export what it shows).

    A data set that several layers share is counted once.
    """
    found: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(rows: Any) -> None:
        key = json.dumps(rows, sort_keys=True, default=str)
        if isinstance(rows, list) and key not in seen:
            seen.add(key)
            found.extend(r for r in rows if isinstance(r, dict))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            add(node.get("values"))
            for key, child in node.items():
                if key == "datasets" and isinstance(child, dict):
                    for rows in child.values():
                        add(rows)
                elif key != "values":
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(to_spec(chart))
    return found


def render(chart: alt.TopLevelMixin | Spec, fmt: str, *, lang: Language = "en") -> bytes:
    """``chart`` as PNG, SVG or PDF bytes, or as a self-contained HTML page."""
    spec = to_spec(chart)
    locale = FORMAT_LOCALES[lang]
    try:
        if fmt == "svg":
            return vlc.vegalite_to_svg(spec, format_locale=locale).encode("utf-8")
        if fmt == "png":
            return bytes(vlc.vegalite_to_png(spec, scale=PNG_SCALE, format_locale=locale))
        if fmt == "pdf":
            return bytes(vlc.vegalite_to_pdf(spec, format_locale=locale))
        if fmt == "html":
            return standalone_html(spec, lang=lang).encode("utf-8")
    except (ValueError, RuntimeError) as exc:
        raise SourceError(f"could not draw the chart as {fmt}: {exc}") from exc
    raise ConfigError(f"unknown chart format {fmt!r}: use one of {', '.join(FORMATS)}")


def save_chart(
    chart: alt.TopLevelMixin | Spec,
    stem: Path,
    formats: Iterable[str] = ("html", "png", "svg"),
    *,
    lang: Language = "en",
) -> list[Path]:
    """Write ``chart`` as ``stem.<fmt>`` for each format and return the paths."""
    return save_charts([(chart, stem)], formats, lang=lang)


def save_charts(
    charts: Sequence[tuple[alt.TopLevelMixin | Spec, Path]],
    formats: Iterable[str] = ("html", "png", "svg"),
    *,
    lang: Language = "en",
) -> list[Path]:
    """Write several charts; see :func:`save_chart`.

    The charts are drawn on up to two threads (vl-convert releases the
    interpreter while it lays a chart out: 14 report charts took 1.1 s instead
    of 1.9 s on two cores), then written in order.
    """
    formats = tuple(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ConfigError(f"unknown chart format {unknown[0]!r}: use one of {', '.join(FORMATS)}")
    workers = max(1, min(len(charts), os.cpu_count() or 1, 2))
    with ThreadPoolExecutor(workers) as pool:
        drawn = list(pool.map(lambda item: _drawn_or_draw(item[0], formats, lang), charts))
    written: list[Path] = []
    for (_, stem), images in zip(charts, drawn, strict=True):
        for fmt, data in images:
            path = stem.with_suffix(f".{fmt}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            except OSError as exc:
                raise SourceError(f"could not write {path}: {exc.strerror or exc}") from exc
            written.append(path)
    return written


#: Images drawn ahead (:func:`draw_ahead`), by chart, formats and language, until saved.
_AHEAD: dict[tuple[str, tuple[str, ...], str], list[tuple[str, bytes]]] = {}
_AHEAD_LOCK = threading.Lock()


def draw_ahead(
    charts: Iterable[alt.TopLevelMixin | Spec], formats: Iterable[str], *, lang: Language = "en"
) -> None:
    """Draw ``charts`` now, so that :func:`save_charts` later only writes them.

    For a core that would otherwise wait: ``peakend analyze`` draws the memory
    section's charts on its thread while the moments are still being fitted,
    instead of after every section. Each drawing is used once (the first
    :func:`save_charts` of an equal chart in the same formats and language) and
    then forgotten. A chart that cannot be drawn is left for :func:`save_charts`,
    which reports the error.
    """
    formats = tuple(formats)
    for chart in charts:
        spec = to_spec(chart)
        try:
            images = _draw(spec, formats, lang)
        except (PeakendError, ValueError, RuntimeError):
            continue
        with _AHEAD_LOCK:
            _AHEAD[_ahead_key(spec, formats, lang)] = images


def forget_ahead() -> None:
    """Drop every image :func:`draw_ahead` made that no :func:`save_charts` used."""
    with _AHEAD_LOCK:
        _AHEAD.clear()


def _ahead_key(spec: Spec, formats: tuple[str, ...], lang: str) -> tuple[str, tuple[str, ...], str]:
    return json.dumps(spec, sort_keys=True, default=str), formats, lang


def _drawn_or_draw(
    chart: alt.TopLevelMixin | Spec, formats: tuple[str, ...], lang: Language
) -> list[tuple[str, bytes]]:
    """The images :func:`draw_ahead` made of ``chart``, else drawn now."""
    spec = to_spec(chart)
    if _AHEAD:
        with _AHEAD_LOCK:
            ahead = _AHEAD.pop(_ahead_key(spec, formats, lang), None)
        if ahead is not None:
            return ahead
    return _draw(spec, formats, lang)


def _draw(
    chart: alt.TopLevelMixin | Spec, formats: tuple[str, ...], lang: Language
) -> list[tuple[str, bytes]]:
    """``chart`` in every format, SVG first: the PNG is rasterised from that SVG."""
    spec = to_spec(chart)
    svg: bytes | None = None
    images = []
    for fmt in sorted(formats, key=lambda f: f != "svg"):
        if fmt == "png" and svg is not None:
            data = _svg_to_png(svg)  # Vega has laid the chart out once already
        else:
            data = render(spec, fmt, lang=lang)
        if fmt == "svg":
            svg = data
        images.append((fmt, data))
    return images


#: The smallest chart with an axis and text: enough to start every part of vl-convert.
_WARM_UP_SPEC: Spec = {
    "data": {"values": [{"x": 1, "y": 1}]},
    "mark": "point",
    "encoding": {
        "x": {"field": "x", "type": "quantitative"},
        "y": {"field": "y", "type": "quantitative"},
    },
}


def warm_up() -> None:
    """Draw a tiny chart as SVG and PNG, so that the first real chart is drawn at full speed.

    vl-convert starts its JavaScript engine and loads its fonts on the first
    chart of a process (0.4 CPU seconds, about a second of wall time on a busy
    machine). It holds the interpreter lock only for the first part of that, so
    ``peakend analyze`` calls this on a thread of its own while the data load;
    the engine then serves every thread. A failure here is ignored: the real
    charts report it.
    """
    try:
        vlc.svg_to_png(vlc.vegalite_to_svg(_WARM_UP_SPEC), scale=PNG_SCALE)
    except (ValueError, RuntimeError):
        pass


def _svg_to_png(svg: bytes) -> bytes:
    try:
        return bytes(vlc.svg_to_png(svg.decode("utf-8"), scale=PNG_SCALE))
    except (ValueError, RuntimeError) as exc:
        raise SourceError(f"could not draw the chart as png: {exc}") from exc


@lru_cache(maxsize=1)
def vega_javascript() -> str:
    """Vega, Vega-Lite and vega-embed in one script (from vl-convert; no network).

    The script defines ``vegaEmbed`` on ``window``. Bundling takes about three
    seconds, so the bundle is kept in ``$XDG_CACHE_HOME/peakend/vega`` (or
    ``~/.cache/peakend/vega``), keyed by the vl-convert version; when that folder
    cannot be written the bundle is simply built again next time.
    """
    cached = _bundle_cache()
    if cached is not None and cached.exists():
        return cached.read_text(encoding="utf-8")
    bundle: str = vlc.javascript_bundle()  # type: ignore[call-arg]
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(bundle, encoding="utf-8")
            partial.replace(cached)
        except OSError:
            pass  # a read-only home: build it again next time
    return bundle


def _bundle_cache() -> Path | None:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    try:
        version = importlib.metadata.version("vl-convert-python")
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(root) / "peakend" / "vega" / f"vega-embed-bundle-{version}.js"


def embed_script(element_id: str, spec: Spec, *, lang: Language = "en") -> str:
    """A ``<script>`` body that draws ``spec`` into the element ``element_id``."""
    options = {"actions": False, "renderer": "svg", "formatLocale": FORMAT_LOCALES[lang]}
    payload = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
    return (
        f"vegaEmbed({json.dumps('#' + element_id)}, {payload}, {json.dumps(options)})"
        ".catch(function (e) { console.error(e); });"
    )


def standalone_html(spec: Spec, *, lang: Language = "en") -> str:
    """One HTML page that draws ``spec`` offline."""
    script = vega_javascript().replace("</script", "<\\/script")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{_title(spec)}</title><script>{script}</script></head>"
        f'<body><div id="chart"></div><script>{embed_script("chart", spec, lang=lang)}'
        "</script></body></html>\n"
    )


def _title(spec: Spec) -> str:
    title = spec.get("title", "peakend chart")
    text = title.get("text", "") if isinstance(title, dict) else title
    return html.escape(str(text))
