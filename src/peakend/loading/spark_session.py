"""The Spark session peakend runs on: the active one, or a new one from the settings.

A session that is already running in the process (a notebook on a cluster, a
``spark-submit`` job, or the one an earlier step of the same command started) is
used as it is; otherwise peakend starts one. Each setting comes from the first
of: its environment variable, the spec's ``[spark]`` table, the default:

* master: ``PEAKEND_SPARK_MASTER``, ``[spark] master`` (``spark://host:7077``,
  ``yarn``, ``local[4]`` …), default ``local[*]`` (every core of this machine);
* driver and executor memory: ``PEAKEND_SPARK_DRIVER_MEMORY`` and
  ``PEAKEND_SPARK_EXECUTOR_MEMORY``, ``[spark] driver_memory`` and
  ``executor_memory`` (``4g``), default Spark's (1 GB);
* shuffle partitions: ``PEAKEND_SPARK_SHUFFLE_PARTITIONS``, ``[spark] conf``'s
  ``spark.sql.shuffle.partitions``, default twice the cores in local mode, else
  Spark's (200);
* any other Spark setting: ``[spark] conf = {"spark.executor.cores" = "4"}``.

Either way the session's SQL time zone is set to UTC (peakend's events are UTC
instants; Spark shows times in the session's zone) and Arrow transfer is on.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from peakend.errors import ConfigError
from peakend.spec import SparkSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER_ENV = "PEAKEND_SPARK_MASTER"
DEFAULT_MASTER = "local[*]"
_SETTINGS = {
    "PEAKEND_SPARK_DRIVER_MEMORY": "spark.driver.memory",
    "PEAKEND_SPARK_EXECUTOR_MEMORY": "spark.executor.memory",
    "PEAKEND_SPARK_SHUFFLE_PARTITIONS": "spark.sql.shuffle.partitions",
}


def spark_session(spec: SparkSpec | None = None) -> SparkSession:
    """The active Spark session, or a new one from the ``PEAKEND_SPARK_*`` settings,
    then the spec's ``[spark]`` table (``spec``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "--backend spark needs pyspark: install the extra `peakend[spark]` "
            "(and Java 17), or drop --backend spark to load with DuckDB"
        ) from exc
    session = SparkSession.getActiveSession()
    if session is None:
        master, settings = session_settings(spec or SparkSpec())
        builder = SparkSession.builder.master(master).appName("peakend")
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # Java missing or the master unreachable
            raise ConfigError(
                f"could not start a Spark session on {master!r} ({exc}); check Java 17 and "
                f"{MASTER_ENV}, or drop --backend spark to load with DuckDB"
            ) from exc
        # FATAL: a query that fails is an exception peakend words for the user; Spark's
        # log line with the whole plan would repeat it.
        session.sparkContext.setLogLevel("FATAL")
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    return session


def master_of(session: SparkSession | None, spec: SparkSpec | None = None) -> str:
    """The master of ``session``, else of the session :func:`spark_session` would use
    (the active one, or a new one from the settings), without starting one."""
    if session is None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:  # (spark_session says what to install)
            return session_settings(spec or SparkSpec())[0]
        session = SparkSession.getActiveSession()
    if session is None:
        return session_settings(spec or SparkSpec())[0]
    return str(session.conf.get("spark.master", None) or session.sparkContext.master)


def session_settings(spec: SparkSpec) -> tuple[str, dict[str, str]]:
    """The master and the settings of a new session: environment, then ``spec``, then defaults."""
    master = os.environ.get(MASTER_ENV, "").strip() or spec.master or DEFAULT_MASTER
    # nothing peakend does writes tables; should anything, not into the working folder
    warehouse = Path(tempfile.gettempdir()) / f"peakend-spark-warehouse-{os.getpid()}"
    settings = {
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "ERROR",
        "spark.sql.warehouse.dir": str(warehouse),
    }
    if master.startswith("local"):
        # Spark's 200 shuffle partitions are sized for clusters; on one machine
        # every aggregate would run 200 tiny tasks.
        settings["spark.sql.shuffle.partitions"] = str(2 * (os.cpu_count() or 2))
    if spec.driver_memory:
        settings["spark.driver.memory"] = spec.driver_memory
    if spec.executor_memory:
        settings["spark.executor.memory"] = spec.executor_memory
    settings.update(spec.conf)
    for env, key in _SETTINGS.items():
        value = os.environ.get(env, "").strip()
        if value:
            settings[key] = value
    return master, settings
