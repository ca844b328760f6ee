"""Bundled datasets.

The demo dataset is 2,000 synthetic subscription journeys with a planted truth
(:mod:`peakend.generate`, seed 42). It is not shipped as files: it is generated
on first use (well under a second) into a per-user cache directory and reused
afterwards, so the package stays small.

The cache directory is ``$PEAKEND_CACHE/demo-<version>-<fingerprint>`` when
``PEAKEND_CACHE`` is set, else under ``$XDG_CACHE_HOME/peakend/``, else under
``~/.cache/peakend/``. The fingerprint hashes the demo's generator settings and the
generator's code, so a changed generator never serves a stale copy. Delete the
directory to force a fresh copy; a copy with a missing file is regenerated.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from peakend import generate as generate_module
from peakend.errors import SourceError
from peakend.generate import GeneratorConfig, generate

__all__ = ["DEMO_JOURNEYS", "DEMO_SEED", "demo_config", "demo_dir", "demo_spec_path"]

DEMO_JOURNEYS = 2_000
"""Number of journeys in the demo dataset."""
DEMO_SEED = 42
"""Seed of the demo dataset."""

_DEMO_NAME = "demo"
_DEMO_FILES = (
    "events.parquet",
    "outcomes.parquet",
    "touchpoints.csv",
    "truth.json",
    f"{_DEMO_NAME}.toml",
)


def demo_dir() -> Path:
    """The directory holding the demo dataset, generated on first use.

    Returns
    -------
    Path
        A directory with ``events.parquet``, ``outcomes.parquet``,
        ``touchpoints.csv``, ``truth.json`` and ``demo.toml``.

    Raises
    ------
    SourceError
        If the cache directory cannot be written; set ``PEAKEND_CACHE`` to a
        writable directory.

    Examples
    --------
    >>> from peakend.datasets import demo_dir
    >>> sorted(p.name for p in demo_dir().iterdir())[:2]
    ['demo.toml', 'events.parquet']
    """
    target = cache_root() / f"demo-{_version()}-{_fingerprint()}"
    if all((target / name).is_file() for name in _DEMO_FILES):
        return target
    try:
        _build(target)
    except OSError as exc:
        raise SourceError(
            f"cannot write the demo dataset to {target}: {exc}; "
            "set PEAKEND_CACHE to a writable directory"
        ) from exc
    return target


def demo_spec_path() -> Path:
    """The dataset spec of the demo dataset (read it with :func:`peakend.spec.read_spec`).

    Examples
    --------
    >>> from peakend.datasets import demo_spec_path
    >>> demo_spec_path().name
    'demo.toml'
    """
    return demo_dir() / f"{_DEMO_NAME}.toml"


def cache_root() -> Path:
    """peakend's cache folder: ``$PEAKEND_CACHE``, else ``$XDG_CACHE_HOME/peakend``, else
    ``~/.cache/peakend``."""
    explicit = os.environ.get("PEAKEND_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "peakend"


def demo_config() -> GeneratorConfig:
    """The generator settings of the demo: planted truth, segments and contact comments."""
    return GeneratorConfig(n_journeys=DEMO_JOURNEYS, seed=DEMO_SEED, contact_texts=True)


def _fingerprint() -> str:
    code = inspect.getsource(generate_module)
    digest = hashlib.sha256((repr(demo_config()) + code).encode("utf-8"))
    return digest.hexdigest()[:10]


def _version() -> str:
    try:
        return metadata.version("peakend")
    except metadata.PackageNotFoundError:
        return "dev"


def _build(target: Path) -> None:
    """Generate into a fresh sibling directory, then move it into place.

    Readers never see a half-written copy, and two processes racing to build it
    both end with a complete one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        generate(staging, demo_config(), name=_DEMO_NAME)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not all((target / name).is_file() for name in _DEMO_FILES):
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
