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

import difflib
import re
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
    "excel",
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
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".xlsb": "excel",
    ".ods": "excel",
}
ROW_ID = "@row"
"""``journey_id = "@row"``: each row is a journey numbered by its data row (files without an id)."""


@dataclass(frozen=True)
class SourceSpec:
    """Where one table comes from and how to read it.

    ``path`` is a file (CSV, Excel, Parquet, JSON lines, XES, SQLite or DuckDB
    file; gzip or a one-file zip allowed for text formats) or, for PostgreSQL,
    ``url`` is a connection URL. ``table`` or ``query`` picks the data inside a
    database, ``sheet`` the sheet of a workbook (a name, or 1 for the first).
    ``delimiter`` and ``encoding`` are detected from the file when None.
    ``skip_rows`` lines come before the header; the header is ``header_rows``
    rows (survey exports write question texts under the column names).
    ``timezone`` is the zone assumed for timestamps written without an offset.
    """

    format: str
    path: Path | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    encoding: str | None = None
    timezone: str = "UTC"
    timestamp_format: str | None = None
    lifecycle: tuple[str, ...] = ()
    sheet: str | int | None = None
    skip_rows: int = 0
    header_rows: int = 1
    #: A ``path`` on a cluster's file system (``hdfs://…``, ``s3a://…``, ``abfss://…``):
    #: kept as written, for Spark's reader; ``path`` is then None.
    uri: str | None = None

    @property
    def label(self) -> str:
        """How messages name this source: the file name or the table."""
        if self.path is not None:
            return str(self.path)
        if self.uri is not None:
            return self.uri
        return f"{self.url or self.format}:{self.table or 'query'}"


@dataclass(frozen=True)
class SparkSpec:
    """The Spark session a spec asks for (``[spark]``), when peakend starts one.

    ``master`` (``yarn``, ``spark://host:7077``, ``local[4]`` …), ``driver_memory``
    and ``executor_memory`` (``4g``), and any other Spark setting in ``conf``
    (``{"spark.executor.instances" = "8"}``). The ``PEAKEND_SPARK_*`` environment
    variables override them (:mod:`peakend.loading.spark_session`).
    """

    master: str | None = None
    driver_memory: str | None = None
    executor_memory: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JourneyEnd:
    """When a journey stops being open (``[journey_end]`` in the spec).

    A journey is open until its first ``closing`` touchpoint, or else until its
    last event that is not a customer contact plus ``grace_days`` (default 14:
    customers still call for a while after the last letter); never past the
    end of the data. Hidden moments count a journey at risk only while open.
    """

    grace_days: float = 14.0
    closing: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetSpec:
    """A parsed dataset spec. Build it with :func:`read_spec` or :func:`parse_spec`."""

    name: str
    source: SourceSpec
    layout: str = "long"
    columns: Mapping[str, str] = field(default_factory=dict)
    touchpoint_parts: tuple[str, ...] = ()
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
    #: ``experienced_order = true``: the stored order of a journey's scores (for a
    #: wide survey, the column order) is the order the customer lived them, so the
    #: memory analysis may speak of peak and end without timestamps.
    experienced_order: bool = False
    journey_end: JourneyEnd = field(default_factory=JourneyEnd)
    snapshot: bool = False
    recovery: RecoverySpec | None = None
    churn: ChurnSpec | None = None
    #: ``[cache] dir = "..."``: where the loaded, validated dataset is kept as
    #: Parquet and re-read while the sources and the spec are unchanged
    #: (:mod:`peakend.cache`). Not part of the spec's content key.
    cache_dir: Path | None = None
    #: ``[report] currency = "EUR"``: the ISO 4217 code of the money figures
    #: (touchpoint ``cost`` and what the report derives from it, e.g. cost saved).
    currency: str | None = None
    #: ``[spark]``: the session ``--backend spark`` starts. Not part of the content key.
    spark: SparkSpec = field(default_factory=SparkSpec)

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
    "experienced_order",
    "journey_end",
    "snapshot",
    "recovery",
    "churn",
    "cache",
    "report",
    "spark",
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
    columns, touchpoint_parts = _parse_columns(_table(raw, "columns", where), where)
    if "journey_id" not in columns and source.format != "xes":
        raise ConfigError(
            f"{where} [columns]: map `journey_id` to the column that identifies a journey "
            '(e.g. journey_id = "case_id"), or write journey_id = "@row" when each row is '
            "one journey and the file has no id"
        )
    snapshot = bool(raw.get("snapshot", False))
    if layout == "long" and source.format != "xes" and "touchpoint" not in columns and not snapshot:
        raise ConfigError(
            f'{where} [columns]: a long layout needs `touchpoint` (e.g. touchpoint = "activity")'
        )
    scales = {
        key: _parse_scale(value, f"{where} [scales.{key}]")
        for key, value in _table(raw, "scales", where).items()
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
        for key, value in _table(raw, "outcomes", where).items()
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
    attributes = _names(raw, "attributes", where)
    segments = _names(raw, "segments", where)
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
        touchpoint_parts=touchpoint_parts,
        attributes=attributes,
        segments=segments,
        ignore_columns=_names(raw, "ignore_columns", where),
        scales=scales,
        default_scale=default_scale,
        touchpoints=touchpoints,
        outcomes=outcomes,
        outcome_source=outcome_source,
        outcome_journey_col=outcome_journey_col,
        strict=bool(validation.get("strict", False)),
        spec_path=spec_path,
        experienced_order=_flag(raw, "experienced_order", where),
        journey_end=_parse_journey_end(dict(raw.get("journey_end", {})), f"{where} [journey_end]"),
        snapshot=snapshot,
        recovery=_parse_recovery(raw["recovery"], where) if "recovery" in raw else None,
        churn=_parse_churn(raw["churn"], where) if "churn" in raw else None,
        cache_dir=_parse_cache(raw, base_dir, where),
        currency=_parse_report(raw, where),
        spark=_parse_spark(_table(raw, "spark", where), f"{where} [spark]"),
    )


def _parse_report(raw: Mapping[str, Any], where: str) -> str | None:
    """``[report] currency``: a three-letter ISO 4217 code such as "EUR" or "USD"."""
    table = _table(raw, "report", where)
    _reject_unknown(table, {"currency"}, where, "[report]")
    code = table.get("currency")
    if code is None:
        return None
    if not (isinstance(code, str) and len(code.strip()) == 3 and code.strip().isalpha()):
        raise ConfigError(
            f'{where} [report]: currency must be a three-letter code such as "EUR" or "USD" '
            f"(ISO 4217), not {code!r}"
        )
    return code.strip().upper()


def _parse_cache(raw: Mapping[str, Any], base_dir: Path, where: str) -> Path | None:
    """``[cache] dir``, relative to the spec's folder."""
    table = _table(raw, "cache", where)
    _reject_unknown(table, {"dir"}, where, "[cache]")
    if "dir" not in table:
        return None
    folder = table["dir"]
    if not isinstance(folder, str) or not folder.strip():
        raise ConfigError(
            f'{where} [cache]: dir must be a folder name, e.g. dir = ".peakend-cache"'
        )
    return base_dir / folder


_MEMORY = re.compile(r"\d+(?:[kmgt]b?)?", re.IGNORECASE)


def _parse_spark(table: dict[str, Any], where: str) -> SparkSpec:
    """``[spark]``: master, driver_memory, executor_memory and ``conf`` (Spark settings)."""
    _reject_unknown(table, {"master", "driver_memory", "executor_memory", "conf"}, where, "[spark]")
    master = table.get("master")
    if master is not None and (not isinstance(master, str) or not master.strip()):
        raise ConfigError(
            f'{where}: master must be a Spark master URL, e.g. master = "yarn" or '
            f'"spark://host:7077" or "local[4]", not {master!r}'
        )
    memory = {}
    for key in ("driver_memory", "executor_memory"):
        value = table.get(key)
        if value is not None and not (isinstance(value, str) and _MEMORY.fullmatch(value.strip())):
            raise ConfigError(
                f'{where}: {key} must be an amount such as "4g" or "512m" (a string), not {value!r}'
            )
        memory[key] = value.strip() if isinstance(value, str) else None
    conf = table.get("conf", {})
    if not isinstance(conf, dict):
        raise ConfigError(
            f'{where}: conf must be a table of Spark settings, e.g. conf = {{ "spark.executor.'
            f'cores" = "4" }}, not {conf!r}'
        )
    settings = {}
    for key, value in conf.items():
        if not key.startswith("spark."):
            raise ConfigError(
                f"{where}: conf key {key!r} is not a Spark setting (they begin with `spark.`)"
            )
        if isinstance(value, dict | list) or value is None:
            raise ConfigError(
                f"{where}: conf value of {key!r} must be a string, number or true/false, "
                f"not {value!r}"
            )
        settings[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return SparkSpec(
        master=master.strip() if master else None,
        driver_memory=memory["driver_memory"],
        executor_memory=memory["executor_memory"],
        conf=settings,
    )


def _flag(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false (got {value!r})")
    return value


def _parse_journey_end(raw: Mapping[str, Any], where: str) -> JourneyEnd:
    _reject_unknown(raw, {"grace_days", "closing"}, where, "[journey_end]")
    grace = raw.get("grace_days", JourneyEnd.grace_days)
    closing = raw.get("closing", [])
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 0:
        raise ConfigError(f"{where}: grace_days must be a number of days >= 0, e.g. 14")
    if not isinstance(closing, list) or not all(isinstance(c, str) for c in closing):
        raise ConfigError(f'{where}: closing must be a list of touchpoint names, e.g. ["closed"]')
    return JourneyEnd(float(grace), tuple(closing))


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
    "sheet",
    "skip_rows",
    "header_rows",
}
_ROLES: tuple[str, ...] = ("journey_id", *(c for c in EVENT_COLUMNS if c != "journey_id"))


def _parse_columns(raw: dict[str, Any], where: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Role -> column; a touchpoint made of several columns is joined as ``a+b``."""
    unknown = sorted(set(raw) - set(_ROLES))
    if unknown:
        hints = "".join(_hint(key, _ROLES) for key in unknown)
        raise ConfigError(
            f"{where} [columns]: unknown role(s) {', '.join(unknown)}{hints}; "
            f"roles are {', '.join(_ROLES)}"
        )
    columns: dict[str, str] = {}
    parts: tuple[str, ...] = ()
    for role, value in raw.items():
        if role == "touchpoint" and isinstance(value, list):
            if not value or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(
                    f"{where} [columns]: touchpoint must be a column name or a list of them, "
                    'e.g. touchpoint = ["concept:name", "lifecycle:transition"]'
                )
            parts = tuple(value)
            value = "+".join(parts) if len(parts) > 1 else parts[0]
            parts = parts if len(parts) > 1 else ()
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"{where} [columns]: {role} must name a column as text, e.g. "
                f'{role} = "my column", not {value!r}'
            )
        if value == ROW_ID and role != "journey_id":
            raise ConfigError(
                f'{where} [columns]: "{ROW_ID}" (the row number) can only be the journey_id'
            )
        columns[role] = value
    return columns, parts


def _parse_source(raw: Mapping[str, Any], base_dir: Path, where: str) -> SourceSpec:
    _reject_unknown(raw, _SOURCE_KEYS, where, "the source table")
    uri = raw["path"] if isinstance(raw.get("path"), str) and _REMOTE.match(raw["path"]) else None
    path = Path(raw["path"]) if "path" in raw and uri is None else None
    if path is not None and not path.is_absolute():
        path = (base_dir / path).resolve()
    url = raw.get("url")
    if path is None and url is None and uri is None:
        raise ConfigError(f"{where}: give `path` (a file) or `url` (a PostgreSQL database)")
    named = Path(uri.split("://", 1)[1]) if uri is not None else path
    fmt = raw.get("format") or _infer_format(named, url)
    if fmt not in FORMATS:
        raise ConfigError(
            f"{where}: format must be one of {', '.join(FORMATS)}, not {fmt!r}{_hint(fmt, FORMATS)}"
        )
    if fmt in ("sqlite", "duckdb", "postgres") and not (raw.get("table") or raw.get("query")):
        raise ConfigError(f"{where}: a database source needs `table` or `query`")
    decimal = raw.get("decimal", ".")
    if decimal not in (".", ","):
        raise ConfigError(f"{where}: decimal must be '.' or ',', not {decimal!r}")
    delimiter = raw.get("delimiter", "\t" if named and ".tsv" in named.suffixes else None)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ConfigError(
            f'{where}: delimiter must be one character (e.g. delimiter = ";" or "\\t"), '
            f"not {delimiter!r}"
        )
    skip_rows = _count(raw, "skip_rows", 0, where)
    header_rows = _count(raw, "header_rows", 1, where)
    if header_rows < 1:
        raise ConfigError(f"{where}: header_rows must be 1 or more (the column names' row)")
    sheet = raw.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        raise ConfigError(
            f'{where}: sheet is a sheet name (sheet = "Responses") or number (sheet = 1 is '
            f"the first), not {sheet!r}"
        )
    return SourceSpec(
        format=fmt,
        path=path,
        url=url,
        table=raw.get("table"),
        query=raw.get("query"),
        delimiter=delimiter,
        decimal=decimal,
        encoding=raw.get("encoding"),
        timezone=raw.get("timezone", "UTC"),
        timestamp_format=raw.get("timestamp_format"),
        lifecycle=_names(raw, "lifecycle", where),
        sheet=sheet,
        skip_rows=skip_rows,
        header_rows=header_rows,
        uri=uri,
    )


#: A path with a scheme (``hdfs://``, ``s3a://``, ``gs://``, ``abfss://``, ``file://`` …):
#: a file on a cluster's file systems, for Spark's reader only.
_REMOTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")


def _count(raw: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {key} must be a whole number >= 0, e.g. {key} = 2")
    return value


def _infer_format(path: Path | None, url: str | None) -> str:
    if url is not None:
        if url.startswith(("postgresql://", "postgres://")):
            return "postgres"
        raise ConfigError(f"cannot tell the database kind of {url!r}; set `format`")
    assert path is not None
    suffixes = [s for s in path.suffixes if s.lower() not in (".gz", ".zip")]
    if suffixes and suffixes[-1].lower() in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffixes[-1].lower()]
    raise ConfigError(
        f"cannot tell the format of {path.name} from its name; set format = one of "
        f"{', '.join(FORMATS)} in [source]"
    )


def _parse_scale(raw: Mapping[str, Any], where: str) -> Scale:
    _reject_unknown(raw, {"low", "high", "neutral", "not_applicable", "reversed"}, where, "a scale")
    codes = raw.get("not_applicable", ())
    if not isinstance(codes, list | tuple):
        codes = [codes]
    numbers, texts = _na_codes(codes)
    try:
        return Scale(
            low=_number(raw["low"], "low"),
            high=_number(raw["high"], "high"),
            neutral=_number(raw["neutral"], "neutral") if "neutral" in raw else None,
            not_applicable=numbers,
            not_applicable_text=texts,
            reversed=bool(raw.get("reversed", False)),
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: missing {exc.args[0]!r}; e.g. low = 1, high = 5") from exc
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _whole(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be a whole number (e.g. {key} = 2), not {value!r}")
    return value


def _names(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A list of column names (``attributes``, ``segments`` …), checked to be one."""
    value = raw.get(key, ())
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f'{where}: {key} must be a list of column names, e.g. {key} = ["Class"], not {value!r}'
        )
    return tuple(value)


def _table(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table (a [{key}] section), not {value!r}")
    return dict(value)


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key} must be a number (e.g. {key} = 5), not {value!r}")
    return float(value)


def _na_codes(codes: Any) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Numeric codes (0, "99") and text codes ("N/A", "Weet niet") of a scale."""
    numbers: list[float] = []
    texts: list[str] = []
    for code in codes:
        if isinstance(code, int | float) and not isinstance(code, bool):
            numbers.append(float(code))
            continue
        text = str(code).strip()
        try:
            numbers.append(float(text.replace(",", ".")))
        except ValueError:
            texts.append(text)
    return tuple(numbers), tuple(texts)


def _parse_touchpoint(
    raw: Mapping[str, Any], scales: Mapping[str, Scale], where: str
) -> Touchpoint:
    keys = {
        "name",
        "stage",
        "brand_relevance",
        "cost",
        "owner",
        "initiated_by",
        "column",
        "text_column",
        "scale",
        "label",
    }
    _reject_unknown(raw, keys, where, "a touchpoint")
    name = _require(raw, "name", where, str)
    scale = raw.get("scale")
    if scale is not None and scale not in scales:
        raise ConfigError(f"{where}: scale {scale!r} is not declared under [scales]")
    try:
        return Touchpoint(
            name=name,
            stage=_whole(raw["stage"], "stage") if "stage" in raw else None,
            brand_relevance=_number(raw["brand_relevance"], "brand_relevance")
            if "brand_relevance" in raw
            else None,
            cost=_number(raw["cost"], "cost") if "cost" in raw else None,
            owner=raw.get("owner"),
            initiated_by=raw.get("initiated_by"),
            column=raw.get("column"),
            text_column=raw.get("text_column"),
            scale=scale,
            label=raw.get("label"),
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


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
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: {what} must be a TOML table (key = value lines), not {raw!r}")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        hints = "".join(_hint(key, allowed) for key in unknown)
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} in {what}{hints}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _hint(word: str, choices: Any) -> str:
    """`` (did you mean `x`?)`` when a close match exists, else nothing."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}` instead of `{word}`?)" if close else ""


def _require(raw: Mapping[str, Any], key: str, where: str, kind: type) -> Any:
    if key not in raw:
        raise ConfigError(f"{where}: missing required key `{key}`")
    value = raw[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: `{key}` must be a {kind.__name__}, not {value!r}")
    return value


@dataclass(frozen=True)
class RecoverySpec:
    """How a service failure and its recovery show in the data (``[recovery]``).

    From events: a failure is an event at one of ``failure_touchpoints`` (scored
    at or below ``failure_max_score`` when given); its recovery is the first event
    at one of ``recovery_touchpoints`` at or after it, recovered when scored at or
    above ``recovered_min_score`` (and within ``recovered_within_hours`` when
    given). From a per-customer snapshot: a failure is ``failure_column`` above
    ``failure_above``, a recovery ``recovered_column`` above ``recovered_above``.
    ``confounders`` are attributes (or snapshot columns) the comparison adjusts
    for, ``adjust_presence`` touchpoints whose presence in the journey it adjusts
    for, and ``lower_is_better`` the outcomes where less is better (churn).
    ``severity`` names how bad each failure was: ``"failure_score"`` (the score of
    the failure event), a journey attribute or outcome-source column, or a snapshot
    column; each distinct value is a level, or with ``severity_cuts`` (ascending
    numbers) the bands between the cuts. The contrasts are then also reported per
    severity level.
    """

    failure_touchpoints: tuple[str, ...] = ()
    failure_max_score: float | None = None
    recovery_touchpoints: tuple[str, ...] = ()
    recovered_min_score: float | None = None
    recovered_within_hours: float | None = None
    failure_column: str | None = None
    failure_above: float = 0.0
    recovered_column: str | None = None
    recovered_above: float = 0.0
    confounders: tuple[str, ...] = ()
    adjust_presence: tuple[str, ...] = ()
    lower_is_better: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    severity: str | None = None
    severity_cuts: tuple[float, ...] = ()


@dataclass(frozen=True)
class ChurnSpec:
    """When a customer churned and what may drive it (``[churn]``).

    ``churned`` names the binary outcome (or snapshot column, with ``positive``
    values) and ``time`` the time from ``origin`` (``first_event`` or
    ``last_event`` of the customer) to churn or censoring, in ``time_unit``; or
    ``inactivity_days`` declares churn as no activity for that many days before
    the end of the data. ``contact_touchpoints`` are unsolicited contacts (default:
    customer-initiated touchpoints without a stage); a negative moment is a scored
    event with valence below ``negative_below``. ``covariates`` are baseline
    attributes (or snapshot columns); ``negative_covariates`` the snapshot columns
    that count as negative experiences for avoidable churn.
    """

    churned: str | None = None
    positive: tuple[str, ...] = ()
    time: str | None = None
    time_unit: str = "days"
    origin: str = "first_event"
    inactivity_days: float | None = None
    contact_touchpoints: tuple[str, ...] | None = None
    negative_below: float = 0.0
    covariates: tuple[str, ...] = ()
    negative_covariates: tuple[str, ...] = ()
    landmark: float = 30.0


def _parse_recovery(raw: Any, where: str) -> RecoverySpec:
    where = f"{where} [recovery]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table, e.g. [recovery] failure_touchpoints = [...]")
    _reject_unknown(raw, set(RecoverySpec.__dataclass_fields__), where, "[recovery]")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    spec = RecoverySpec(**values)
    if not spec.failure_touchpoints and spec.failure_column is None:
        raise ConfigError(
            f'{where}: declare the failure: failure_touchpoints = ["complaint"] (events) '
            'or failure_column = "Complaints" (one row per customer)'
        )
    cuts = spec.severity_cuts
    if cuts and (
        not all(isinstance(c, int | float) for c in cuts) or list(cuts) != sorted(set(cuts))
    ):
        raise ConfigError(f"{where}: severity_cuts must be ascending numbers, e.g. [2, 5]")
    if cuts and spec.severity is None:
        raise ConfigError(f'{where}: severity_cuts needs severity = "<column>"')
    return spec


def _parse_churn(raw: Any, where: str) -> ChurnSpec:
    where = f"{where} [churn]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{where} must be a table, e.g. [churn] churned = "churned"')
    _reject_unknown(raw, set(ChurnSpec.__dataclass_fields__), where, "[churn]")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    spec = ChurnSpec(**values)
    if spec.inactivity_days is None and (spec.churned is None or spec.time is None):
        raise ConfigError(
            f'{where}: declare churn: churned = "churned" and time = "churn_days", '
            "or inactivity_days = 90"
        )
    if spec.origin not in ("first_event", "last_event"):
        raise ConfigError(f"{where}: origin must be 'first_event' or 'last_event'")
    return spec
