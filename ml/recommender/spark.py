"""The Spark session: local by default, any master URL unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from .errors import RecommenderError
from .settings import Settings, SparkSettings

JAVA_NOT_FOUND = "Java not found (install OpenJDK 17 and/or set JAVA_HOME)"
_PACKAGE_DIR = Path(__file__).resolve().parent
_LOG4J2_CONFIG = _PACKAGE_DIR / "log4j2.properties"
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


def java_options(spark_settings: SparkSettings) -> tuple[str, str]:
    """The JVM options of the driver and of the executors: Java BLAS unless native is
    allowed, then SPARK_JAVA_OPTIONS, on both (local mode computes in the driver, a
    cluster in its executors). The driver also gets the logging configuration, so it is
    quiet from its first line: setLogLevel() only takes effect after the JVM has already
    printed its startup warnings."""
    blas = "" if spark_settings.native_blas else _JAVA_BLAS_ONLY
    shared = " ".join(filter(None, [blas, spark_settings.java_options]))
    return f"-Dlog4j2.configurationFile={_LOG4J2_CONFIG} {shared}".strip(), shared


def build_spark(
    spark_settings: SparkSettings,
    checkpoint_dir: Path,
    app_name: str = "moovitamix-recommender",
    extra_conf: Mapping[str, str] | None = None,
    with_jdbc: bool = True,
) -> SparkSession:
    """Create (or reuse) the session. The same code runs on ``local[*]`` and on a
    cluster's master URL: data enters and leaves through the executors (JDBC), never
    through this process.

    ``native_blas`` lets netlib load the machine's libblas.so.3 (OpenBLAS). Off by default:
    ALS calls BLAS once per interaction on rank-sized vectors, where the JNI crossing
    costs more than OpenBLAS saves (``make bench-ml-blas``: the Java BLAS fit is faster
    at rank 16)."""
    require_java()
    # The workers that run this package's functions (scoring, metrics) must be this
    # interpreter, with its numpy and pyarrow, not whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # The machine's hostname may not resolve; binding the driver to loopback avoids
    # a slow reverse lookup and a "Service 'sparkDriver' could not bind" failure.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    driver_options, executor_options = java_options(spark_settings)

    conf = {
        "spark.sql.shuffle.partitions": str(spark_settings.shuffle_partitions),
        "spark.default.parallelism": str(spark_settings.shuffle_partitions),
        # Only taken into account when this call starts the JVM (the usual case).
        "spark.driver.memory": spark_settings.driver_memory,
        # No one looks at the UI of a batch job; skipping it saves a port and ~1 s.
        "spark.ui.enabled": "false",
        # Progress bars are carriage-return noise in a scheduled job's log.
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": driver_options,
        # The scoring workers multiply blocks of factors with numpy: one BLAS thread each,
        # since Spark already runs one worker per core.
        "spark.executorEnv.OPENBLAS_NUM_THREADS": "1",
        "spark.executorEnv.OMP_NUM_THREADS": "1",
        # Meltano runs its plugins with PYTHONWARNINGS=once, and every worker Spark's
        # daemon forks then reports two ResourceWarnings of pyspark's own (an unclosed
        # socket file): nine lines in ten of the job's log. Other warnings still show.
        "spark.executorEnv.PYTHONWARNINGS": "ignore::ResourceWarning",
        **(extra_conf or {}),
    }
    jar = spark_settings.jdbc_jar
    if with_jdbc:
        if not jar.is_file():
            raise RecommenderError(
                f"PostgreSQL JDBC driver not found at {jar} (run `make install`, or set "
                "SPARK_JDBC_JAR to a postgresql.jar, e.g. Debian's libpostgresql-jdbc-java)"
            )
        # Shipped to the executors by the driver: a cluster needs nothing installed.
        conf["spark.jars"] = str(jar.resolve())
    if executor_options:
        conf["spark.executor.extraJavaOptions"] = executor_options
    if spark_settings.executor_memory:
        conf["spark.executor.memory"] = spark_settings.executor_memory

    builder = SparkSession.builder.master(spark_settings.master).appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # ALS checkpoints its factor RDDs every `checkpointInterval` iterations to cut the
    # lineage; without a checkpoint dir it silently skips that and long runs can
    # overflow the stack.
    spark.sparkContext.setCheckpointDir(str(checkpoint_dir.resolve()))
    spark.sparkContext.addPyFile(str(_package_archive()))
    return spark


def _package_archive() -> Path:
    """This package as a zip the driver ships to every executor, so a cluster's workers
    import the same code as the driver (they only need its third-party libraries). Named
    by content: a session that already has it (a notebook, the tests) gets the same file."""
    sources = sorted(_PACKAGE_DIR.glob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]
    archive = Path(tempfile.gettempdir()) / f"moovitamix-recommender-{digest}.zip"
    if not archive.exists():
        partial = archive.with_suffix(f".{os.getpid()}.tmp")
        with zipfile.ZipFile(partial, "w") as bundle:
            for source in sources:
                bundle.write(source, f"{_PACKAGE_DIR.name}/{source.name}")
        partial.replace(archive)
    return archive


@contextmanager
def spark_session(settings: Settings, with_jdbc: bool = True) -> Iterator[SparkSession]:
    """A session for one job; stopped at the end only if this job created it: a caller
    (a notebook, the test suite) that already has one keeps it."""
    existing = SparkSession.getActiveSession()
    spark = build_spark(settings.spark, settings.checkpoint_dir, with_jdbc=with_jdbc)
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
