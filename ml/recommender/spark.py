"""Spark session builder tuned for a small local job (2 cores, thousands of rows)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from .errors import RecommenderError
from .settings import Settings

JAVA_NOT_FOUND = "Java not found (install OpenJDK 17 and/or set JAVA_HOME)"
_LOG4J2_CONFIG = Path(__file__).with_name("log4j2.properties")
# netlib (Spark's BLAS/LAPACK loader) reads these before choosing an implementation.
_JAVA_BLAS_ONLY = (
    "-Ddev.ludovic.netlib.blas.allowNative=false -Ddev.ludovic.netlib.lapack.allowNative=false"
)


def find_java() -> str | None:
    """The ``java`` PySpark's launcher (spark-class) would run: $JAVA_HOME/bin/java when
    JAVA_HOME is set (even if it is wrong: spark-class does not fall back), else PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def require_java() -> None:
    # Without this check PySpark fails with a long py4j traceback ending in
    # "Java gateway process exited", which does not tell an operator what to install.
    if find_java() is None:
        raise RecommenderError(JAVA_NOT_FOUND)


def build_spark(
    master: str,
    checkpoint_dir: Path,
    shuffle_partitions: int = 4,
    app_name: str = "moovitamix-recommender",
    native_blas: bool = False,
) -> SparkSession:
    """Create (or reuse) the session. Memory and other JVM settings are left to
    ``SPARK_CONF_DIR``/spark-defaults.conf or ``SPARK_DRIVER_MEMORY`` on purpose.

    ``native_blas`` lets netlib load the machine's libblas.so.3 (OpenBLAS). Off by default:
    ALS calls BLAS once per interaction on rank-sized vectors, where the JNI crossing
    costs more than OpenBLAS saves (``make bench-ml-blas``: the Java BLAS fit is faster
    at rank 16)."""
    require_java()
    # The machine's hostname may not resolve; binding the driver to loopback avoids
    # a slow reverse lookup and a "Service 'sparkDriver' could not bind" failure.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    # Quiet from the first line: setLogLevel() only takes effect after the JVM has
    # already printed its startup warnings.
    driver_options = f"-Dlog4j2.configurationFile={_LOG4J2_CONFIG}"
    executor_options = ""
    if not native_blas:
        # Driver (where local mode computes) and executors (a cluster's) alike.
        driver_options = f"{driver_options} {_JAVA_BLAS_ONLY}"
        executor_options = _JAVA_BLAS_ONLY

    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        # No one looks at the UI of a batch job; skipping it saves a port and ~1 s.
        .config("spark.ui.enabled", "false")
        # Progress bars are carriage-return noise in a scheduled job's log.
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # pandas -> Spark conversion of the interactions goes through Arrow (fast path).
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", driver_options)
    )
    if executor_options:
        builder = builder.config("spark.executor.extraJavaOptions", executor_options)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # ALS checkpoints its factor RDDs every `checkpointInterval` iterations to cut the
    # lineage; without a checkpoint dir it silently skips that and long runs can
    # overflow the stack.
    spark.sparkContext.setCheckpointDir(str(checkpoint_dir.resolve()))
    return spark


@contextmanager
def spark_session(settings: Settings) -> Iterator[SparkSession]:
    """A session for one job; stopped at the end only if this job created it: a caller
    (a notebook, the test suite) that already has one keeps it."""
    existing = SparkSession.getActiveSession()
    spark = build_spark(
        settings.spark_master,
        settings.checkpoint_dir,
        settings.spark_shuffle_partitions,
        native_blas=settings.spark_native_blas,
    )
    try:
        yield spark
    finally:
        if existing is None:
            spark.stop()


def loaded_native_blas(spark: SparkSession) -> str:
    """The native BLAS ALS's normal equations use ("JNIBLAS": the machine's
    libblas.so.3, e.g. OpenBLAS), or "none" when Spark uses its pure-Java BLAS (native
    not allowed, or no libblas.so.3)."""
    from py4j.protocol import Py4JError

    try:
        instance = spark._jvm.dev.ludovic.netlib.blas.NativeBLAS.getInstance()  # type: ignore[union-attr]
    except Py4JError:  # netlib could not load libblas.so.3
        return "none"
    return str(instance.getClass().getSimpleName())
