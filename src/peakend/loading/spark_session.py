"""The Spark session peakend runs on: the active one, or a new one from the settings.

A session that is already running in the process (a notebook on a cluster, a
``spark-submit`` job) is used as it is; otherwise peakend starts one:

* master: ``PEAKEND_SPARK_MASTER`` (``spark://host:7077``, ``yarn``,
  ``local[4]`` …), default ``local[*]`` (every core of this machine);
* driver and executor memory: ``PEAKEND_SPARK_DRIVER_MEMORY`` and
  ``PEAKEND_SPARK_EXECUTOR_MEMORY`` (``4g``), default Spark's (1 GB);
* shuffle partitions: ``PEAKEND_SPARK_SHUFFLE_PARTITIONS``, default twice the
  cores in local mode, else Spark's (200).

Either way the session's SQL time zone is set to UTC (peakend's events are UTC
instants; Spark shows times in the session's zone) and Arrow transfer is on.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from peakend.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER_ENV = "PEAKEND_SPARK_MASTER"
DEFAULT_MASTER = "local[*]"
_SETTINGS = {
    "PEAKEND_SPARK_DRIVER_MEMORY": "spark.driver.memory",
    "PEAKEND_SPARK_EXECUTOR_MEMORY": "spark.executor.memory",
    "PEAKEND_SPARK_SHUFFLE_PARTITIONS": "spark.sql.shuffle.partitions",
}


def spark_session() -> SparkSession:
    """The active Spark session, or a new one from the ``PEAKEND_SPARK_*`` settings."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "--backend spark needs pyspark: install the extra `peakend[spark]` "
            "(and Java 17), or drop --backend spark to load with DuckDB"
        ) from exc
    session = SparkSession.getActiveSession()
    if session is None:
        master = os.environ.get(MASTER_ENV, "").strip() or DEFAULT_MASTER
        builder = SparkSession.builder.master(master).appName("peakend")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        builder = builder.config("spark.log.level", "ERROR")
        # nothing peakend does writes tables; should anything, not into the working folder
        warehouse = Path(tempfile.gettempdir()) / f"peakend-spark-warehouse-{os.getpid()}"
        builder = builder.config("spark.sql.warehouse.dir", str(warehouse))
        if master.startswith("local"):
            # Spark's 200 shuffle partitions are sized for clusters; on one machine
            # every aggregate would run 200 tiny tasks.
            cores = os.cpu_count() or 2
            builder = builder.config("spark.sql.shuffle.partitions", str(2 * cores))
        for env, key in _SETTINGS.items():
            value = os.environ.get(env, "").strip()
            if value:
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
