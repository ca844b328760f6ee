"""Dataset specs: a TOML file that maps a user's files and columns onto the data model.

A spec says where the data are (:class:`SourceSpec`), whether they are long (one
row per event) or wide (one row per respondent, one column per touchpoint),
which source column plays which canonical role, the declared score scales, the
touchpoint catalogue in journey order, and the outcomes. See
``docs/dataset-spec.md`` for every key with an example.

Relative paths in a spec are relative to the spec file, so a spec and its data
can move together.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peakend.errors import ConfigError
from peakend.schema import EVENT_COLUMNS, Outcome, Scale, Touchpoint

FORMATS: tuple[str, ...] = (
    "csv",
    "parquet",
    "jsonl",
    "xes",
    "sqlite",
    "duckdb",
    "postgres",
)
LAYOUTS: tuple[str, ...] = ("long", "wide")
_SUFFIX_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xes": "xes",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".duckdb": "duckdb",
}


@dataclass(frozen=True)
class SourceSpec:
    """Where one table comes from and how to read it.

    ``path`` is a file (CSV, Parquet, JSON lines, XES, SQLite or DuckDB file;
    ``.gz`` allowed for text formats) or, for PostgreSQL, ``url`` is a
    connection URL. ``table`` or ``query`` picks the data inside a database.
    ``timezone`` is the zone assumed for timestamps written without an offset.
    """

    format: str
    path: Path | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8"
    timezone: str = "UTC"
    timestamp_format: str | None = None
    lifecycle: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How messages name this source: the file name or the table."""
        if self.path is not None:
            return str(self.path)
        return f"{self.url or self.format}:{self.table or 'query'}"


@dataclass(frozen=True)
class DatasetSpec:
    """A parsed dataset spec. Build it with :func:`read_spec` or :func:`parse_spec`."""

    name: str
    source: SourceSpec
    layout: str = "long"
    columns: Mapping[str, str] = field(default_factory=dict)
    attributes: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    ignore_columns: tuple[str, ...] = ()
    scales: Mapping[str, Scale] = field(default_factory=dict)
    default_scale: str | None = None
    touchpoints: tuple[Touchpoint, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    outcome_source: SourceSpec | None = None
    outcome_journey_col: str | None = None
    strict: bool = False
    description: str = ""
    spec_path: Path | None = None

    def scale_for(self, touchpoint: Touchpoint | None) -> Scale | None:
        """The scale scores of ``touchpoint`` are on (its own, else the default)."""
        name = touchpoint.scale if touchpoint is not None and touchpoint.scale else None
        name = name or self.default_scale
        return self.scales[name] if name else None

    def touchpoint(self, name: str) -> Touchpoint | None:
        """The catalogue entry called ``name``, if declared."""
        for entry in self.touchpoints:
            if entry.name == name:
                return entry
        return None


def read_spec(path: str | Path) -> DatasetSpec:
    """Read a dataset spec from a TOML file.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or a key is wrong; the
        message names the key and what to write instead.
    """
    spec_path = Path(path)
    if not spec_path.is_file():
        raise ConfigError(f"dataset spec {spec_path} does not exist; check the path")
    try:
        raw = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{spec_path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{spec_path} is not UTF-8 text; save it as UTF-8") from exc
    return parse_spec(raw, base_dir=spec_path.parent, spec_path=spec_path)


_TOP_KEYS = {
    "name",
    "description",
    "source",
    "layout",
    "columns",
    "attributes",
    "segments",
    "ignore_columns",
    "scales",
    "default_scale",
    "touchpoints",
    "outcomes",
    "outcome_source",
    "validation",
}


def parse_spec(
    raw: Mapping[str, Any], *, base_dir: Path, spec_path: Path | None = None
) -> DatasetSpec:
    """Build a :class:`DatasetSpec` from already-parsed TOML (a dict)."""
    where = str(spec_path) if spec_path else "dataset spec"
    _reject_unknown(raw, _TOP_KEYS, where, "the top level")
    name = _require(raw, "name", where, str)
    source = _parse_source(_require(raw, "source", where, dict), base_dir, f"{where} [source]")
    layout = raw.get("layout", "long")
    if layout not in LAYOUTS:
        raise ConfigError(f"{where}: layout must be 'long' or 'wide', not {layout!r}")
    columns = dict(raw.get("columns", {}))
    unknown_roles = sorted(set(columns) - set(EVENT_COLUMNS) - {"journey_id"})
    if unknown_roles:
        raise ConfigError(
            f"{where} [columns]: unknown role(s) {', '.join(unknown_roles)}; "
            f"roles are {', '.join(EVENT_COLUMNS)}"
        )
    if "journey_id" not in columns:
        raise ConfigError(
            f"{where} [columns]: map `journey_id` to the column that identifies a journey "
            '(e.g. journey_id = "case_id")'
        )
    if layout == "long" and source.format != "xes" and "touchpoint" not in columns:
        raise ConfigError(
            f'{where} [columns]: a long layout needs `touchpoint` (e.g. touchpoint = "activity")'
        )
    scales = {
        key: _parse_scale(value, f"{where} [scales.{key}]")
        for key, value in dict(raw.get("scales", {})).items()
    }
    default_scale = raw.get("default_scale")
    if default_scale is None and len(scales) == 1:
        default_scale = next(iter(scales))
    if default_scale is not None and default_scale not in scales:
        raise ConfigError(
            f"{where}: default_scale {default_scale!r} is not declared under [scales]"
        )
    touchpoints = tuple(
        _parse_touchpoint(item, scales, f"{where} [[touchpoints]] #{i + 1}")
        for i, item in enumerate(raw.get("touchpoints", []))
    )
    _check_touchpoints(touchpoints, layout, where)
    outcomes = tuple(
        _parse_outcome(key, value, scales, f"{where} [outcomes.{key}]")
        for key, value in dict(raw.get("outcomes", {})).items()
    )
    outcome_source, outcome_journey_col = None, None
    if "outcome_source" in raw:
        table = dict(raw["outcome_source"])
        outcome_journey_col = table.pop("journey_id", None)
        if not outcome_journey_col:
            raise ConfigError(
                f'{where} [outcome_source]: name the journey column, e.g. journey_id = "id"'
            )
        outcome_source = _parse_source(table, base_dir, f"{where} [outcome_source]")
    validation = dict(raw.get("validation", {}))
    _reject_unknown(validation, {"strict"}, where, "[validation]")
    attributes = tuple(raw.get("attributes", ()))
    segments = tuple(raw.get("segments", ()))
    for segment in segments:
        if segment not in attributes:
            raise ConfigError(
                f"{where}: segment {segment!r} is not an attribute; add it to "
                f"attributes = [...] (attributes now: {', '.join(attributes) or 'none'})"
            )
    return DatasetSpec(
        name=name,
        description=str(raw.get("description", "")),
        source=source,
        layout=layout,
        columns=columns,
        attributes=attributes,
        segments=segments,
        ignore_columns=tuple(raw.get("ignore_columns", ())),
        scales=scales,
        default_scale=default_scale,
        touchpoints=touchpoints,
        outcomes=outcomes,
        outcome_source=outcome_source,
        outcome_journey_col=outcome_journey_col,
        strict=bool(validation.get("strict", False)),
        spec_path=spec_path,
    )


_SOURCE_KEYS = {
    "path",
    "url",
    "format",
    "table",
    "query",
    "delimiter",
    "decimal",
    "encoding",
    "timezone",
    "timestamp_format",
    "lifecycle",
}


def _parse_source(raw: Mapping[str, Any], base_dir: Path, where: str) -> SourceSpec:
    _reject_unknown(raw, _SOURCE_KEYS, where, "the source table")
    path = Path(raw["path"]) if "path" in raw else None
    if path is not None and not path.is_absolute():
        path = (base_dir / path).resolve()
    url = raw.get("url")
    if path is None and url is None:
        raise ConfigError(f"{where}: give `path` (a file) or `url` (a PostgreSQL database)")
    fmt = raw.get("format") or _infer_format(path, url)
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt in ("sqlite", "duckdb", "postgres") and not (raw.get("table") or raw.get("query")):
        raise ConfigError(f"{where}: a database source needs `table` or `query`")
    decimal = raw.get("decimal", ".")
    if decimal not in (".", ","):
        raise ConfigError(f"{where}: decimal must be '.' or ',', not {decimal!r}")
    return SourceSpec(
        format=fmt,
        path=path,
        url=url,
        table=raw.get("table"),
        query=raw.get("query"),
        delimiter=raw.get("delimiter", "\t" if path and ".tsv" in path.suffixes else ","),
        decimal=decimal,
        encoding=raw.get("encoding", "utf-8"),
        timezone=raw.get("timezone", "UTC"),
        timestamp_format=raw.get("timestamp_format"),
        lifecycle=tuple(raw.get("lifecycle", ())),
    )


def _infer_format(path: Path | None, url: str | None) -> str:
    if url is not None:
        if url.startswith(("postgresql://", "postgres://")):
            return "postgres"
        raise ConfigError(f"cannot tell the database kind of {url!r}; set `format`")
    assert path is not None
    suffixes = [s for s in path.suffixes if s != ".gz"]
    if suffixes and suffixes[-1].lower() in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffixes[-1].lower()]
    raise ConfigError(
        f"cannot tell the format of {path.name}; set format = one of {', '.join(FORMATS)}"
    )


def _parse_scale(raw: Mapping[str, Any], where: str) -> Scale:
    _reject_unknown(raw, {"low", "high", "neutral", "not_applicable", "reversed"}, where, "a scale")
    try:
        return Scale(
            low=float(raw["low"]),
            high=float(raw["high"]),
            neutral=float(raw["neutral"]) if "neutral" in raw else None,
            not_applicable=tuple(float(v) for v in raw.get("not_applicable", ())),
            reversed=bool(raw.get("reversed", False)),
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: missing {exc.args[0]!r}; e.g. low = 1, high = 5") from exc
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _parse_touchpoint(
    raw: Mapping[str, Any], scales: Mapping[str, Scale], where: str
) -> Touchpoint:
    keys = {"name", "stage", "brand_relevance", "cost", "owner", "initiated_by", "column", "scale"}
    keys.add("label")
    _reject_unknown(raw, keys, where, "a touchpoint")
    name = _require(raw, "name", where, str)
    scale = raw.get("scale")
    if scale is not None and scale not in scales:
        raise ConfigError(f"{where}: scale {scale!r} is not declared under [scales]")
    return Touchpoint(
        name=name,
        stage=int(raw["stage"]) if "stage" in raw else None,
        brand_relevance=float(raw["brand_relevance"]) if "brand_relevance" in raw else None,
        cost=float(raw["cost"]) if "cost" in raw else None,
        owner=raw.get("owner"),
        initiated_by=raw.get("initiated_by"),
        column=raw.get("column"),
        scale=scale,
        label=raw.get("label"),
    )


def _check_touchpoints(touchpoints: tuple[Touchpoint, ...], layout: str, where: str) -> None:
    names = [t.name for t in touchpoints]
    doubles = sorted({n for n in names if names.count(n) > 1})
    if doubles:
        raise ConfigError(f"{where}: touchpoint(s) declared twice: {', '.join(doubles)}")
    if layout == "wide":
        if not touchpoints:
            raise ConfigError(
                f"{where}: a wide layout needs [[touchpoints]] entries with `column` "
                "(one per score column, in journey order)"
            )
        missing = [t.name for t in touchpoints if not t.column]
        if missing:
            raise ConfigError(
                f"{where}: wide-layout touchpoints need `column`: {', '.join(missing)}"
            )


def _parse_outcome(
    name: str, raw: Mapping[str, Any], scales: Mapping[str, Scale], where: str
) -> Outcome:
    keys = {"column", "kind", "positive", "negative", "scale", "from_touchpoint", "description"}
    _reject_unknown(raw, keys, where, "an outcome")
    scale = raw.get("scale")
    if scale is not None and scale not in scales:
        raise ConfigError(f"{where}: scale {scale!r} is not declared under [scales]")
    kind = raw.get("kind", "binary" if "from_touchpoint" in raw else "continuous")
    try:
        return Outcome(
            name=name,
            kind=kind,
            column=raw.get("column"),
            positive=tuple(str(v) for v in raw.get("positive", ())),
            negative=tuple(str(v) for v in raw.get("negative", ())),
            scale=scale,
            from_touchpoint=raw.get("from_touchpoint"),
            description=str(raw.get("description", "")),
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _reject_unknown(raw: Mapping[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} in {what}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _require(raw: Mapping[str, Any], key: str, where: str, kind: type) -> Any:
    if key not in raw:
        raise ConfigError(f"{where}: missing required key `{key}`")
    value = raw[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: `{key}` must be a {kind.__name__}, not {value!r}")
    return value
