"""Which loader reads a dataset: DuckDB queries where it can, pandas for the rest.

Parquet, CSV (gzip too, any encoding, extra header rows), JSON-lines (any
encoding), XES, Excel and database sources, derived ``@row`` journey ids and
joined touchpoints included, and wide survey exports from any of them are loaded
by :mod:`peakend.loading.duck`: the checks run as SQL where the data are and only
the rows that fail come into Python. Every other source (a wide export whose
scores are text in one column and numbers in another, a ``timestamp_format``
DuckDB does not read) and anything the DuckDB path finds it cannot reproduce
exactly (bytes not valid in a declared encoding, lines before a CSV header that a
quoted value breaks, a column named as a derived one …) goes to the pandas loader
in :mod:`peakend.load`. The choice is made here only, and
``Dataset.report.loader`` says which one ran and why. (A per-customer snapshot has
no events: :func:`peakend.load` refuses it.)

``PEAKEND_LOADER=pandas`` forces the pandas loader; ``duckdb`` or ``auto`` (the
default) try DuckDB first.

The backend ``spark`` (``peakend.load(spec, backend="spark")``, ``--backend
spark``, ``PEAKEND_BACKEND=spark``) runs the DuckDB loader's checks on a Spark
session instead (:mod:`peakend.loading.spark`); what it cannot load is refused,
never loaded elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import TYPE_CHECKING

from peakend.errors import ConfigError, SourceError

if TYPE_CHECKING:
    from peakend.load import Dataset
    from peakend.spec import DatasetSpec

LOADER_ENV = "PEAKEND_LOADER"
LOADERS = ("auto", "duckdb", "pandas")
DEFAULT_LOADER = "auto"
BACKEND_ENV = "PEAKEND_BACKEND"
BACKENDS = ("duckdb", "spark")

log = logging.getLogger("peakend.load")


def wanted_loader() -> str:
    """The loader asked for in ``PEAKEND_LOADER`` (``auto`` when unset)."""
    wanted = os.environ.get(LOADER_ENV, DEFAULT_LOADER).strip().lower() or DEFAULT_LOADER
    if wanted not in LOADERS:
        raise ConfigError(
            f"{LOADER_ENV}={wanted!r} is not a loader; use one of {', '.join(LOADERS)}"
        )
    return wanted


def wanted_backend(backend: str | None = None) -> str:
    """``backend``, else ``PEAKEND_BACKEND``, else ``duckdb``; checked against :data:`BACKENDS`."""
    where = "--backend" if backend else BACKEND_ENV
    wanted = (backend or os.environ.get(BACKEND_ENV, "")).strip().lower() or "duckdb"
    if wanted not in BACKENDS:
        raise ConfigError(f"{where}={wanted!r} is not a backend; use one of {', '.join(BACKENDS)}")
    return wanted


def run_loader(spec: DatasetSpec, *, backend: str = "duckdb") -> Dataset:
    """Load ``spec`` with DuckDB when it can be done exactly, else with pandas;
    on Spark when ``backend`` is ``spark``."""
    _refuse_missing_files(spec)
    with copy_on_write():
        if backend == "spark":
            from peakend.loading.spark import load_on_spark

            return load_on_spark(spec)
        return _run_loader(spec)


def _refuse_missing_files(spec: DatasetSpec) -> None:
    """A source file that does not exist, said before any work (the events of a large
    source were otherwise read first, and a missing outcome file noticed after)."""
    from peakend.io.sniff import is_pattern

    for table, source in (("source", spec.source), ("outcome_source", spec.outcome_source)):
        path = source.path if source is not None else None
        if path is None or is_pattern(path.name) or path.exists():
            continue
        raise SourceError(f"{path} does not exist; check `path` in the [{table}] table of the spec")


def copy_on_write() -> contextlib.AbstractContextManager[object]:
    """pandas 2: copy-on-write for the load, as pandas 3 always has.

    The loaders narrow a frame (dropping quarantined rows) and then set columns
    on it; pandas 2 without copy-on-write warns about that (SettingWithCopy),
    pandas 3 does not. Both are supported, and behave the same this way.
    """
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return contextlib.nullcontext()
    return pd.option_context("mode.copy_on_write", True)


def _run_loader(spec: DatasetSpec) -> Dataset:
    from peakend.load import _Loader

    why = "PEAKEND_LOADER=pandas"
    if wanted_loader() != "pandas":
        from peakend.loading.duck import DuckLoader, Unsupported, unsupported

        why = unsupported(spec) or ""
        if not why:
            try:
                dataset = DuckLoader(spec).run()
            except Unsupported as exc:
                why = str(exc)
            else:
                dataset.report.loader = "duckdb"
                log.debug("%s: loaded with DuckDB", spec.name)
                return dataset
    log.debug("%s: loaded with pandas (%s)", spec.name, why)
    dataset = _Loader(spec).run()
    dataset.report.loader = f"pandas ({why})"
    return dataset
