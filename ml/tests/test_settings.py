"""Which environment variable sets which setting, its default when unset, and the one-line
error of a value it cannot parse (no Spark, no warehouse)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from recommender.settings import (
    AlsParams,
    PolicySettings,
    SearchSettings,
    Settings,
    SparkSettings,
    WarehouseSettings,
)

# Each variable, a value unlike its default, where it lands in Settings and as what.
# Written out rather than read from settings.py: a renamed variable or a swapped field
# must fail here.
VARIABLES: list[tuple[str, str, str, Any]] = [
    ("WAREHOUSE_HOST", "db.example", "warehouse.host", "db.example"),
    ("WAREHOUSE_PORT", "6543", "warehouse.port", 6543),
    ("WAREHOUSE_USER", "someone", "warehouse.user", "someone"),
    ("WAREHOUSE_PASSWORD", "secret", "warehouse.password", "secret"),
    ("WAREHOUSE_DB", "other", "warehouse.dbname", "other"),
    ("WAREHOUSE_CONNECT_TIMEOUT", "9", "warehouse.connect_timeout_s", 9),
    ("ALS_RANK", "24", "als.rank", 24),
    ("ALS_REG_PARAM", "0.5", "als.reg_param", 0.5),
    ("ALS_ALPHA", "2.5", "als.alpha", 2.5),
    ("ALS_MAX_ITER", "7", "als.max_iter", 7),
    ("ALS_SEED", "7", "als.seed", 7),
    ("ALS_NUM_BLOCKS", "3", "als.num_blocks", 3),
    ("ALS_CHECKPOINT_INTERVAL", "4", "als.checkpoint_interval", 4),
    ("ALS_CONFIDENCE", " LOG1P ", "als.confidence", "log1p"),
    ("ALS_HALF_LIFE_DAYS", "14", "als.half_life_days", 14.0),
    ("GATE_NDCG_TOLERANCE", "0.01", "policy.gate_ndcg_tolerance", 0.01),
    ("GATE_MIN_POPULARITY_LIFT", "1.5", "policy.gate_min_popularity_lift", 1.5),
    ("RETRAIN_MIN_CHAMPION_LIFT", "1.1", "policy.retrain_min_champion_lift", 1.1),
    ("RETRAIN_MAX_MODEL_AGE_DAYS", "3", "policy.max_model_age_days", 3.0),
    ("RETRAIN_FORCE", "Yes", "policy.force_retrain", True),
    ("RETRAIN_MIN_CHANGED_SHARE", "0.02", "policy.retrain_min_changed_share", 0.02),
    ("SEARCH_MAX_FITS", "2", "search.max_fits", 2),
    ("SEARCH_MAX_MINUTES", "1.5", "search.max_minutes", 1.5),
    ("SEARCH_MAX_USERS", "100", "search.max_users", 100),
    ("SEARCH_MIN_CHANGED_SHARE", "0.1", "search.min_changed_share", 0.1),
    ("SEARCH_COSTLIER_MIN_GAIN", "0.25", "search.costlier_min_gain", 0.25),
    ("SEARCH_RANKS", "8, 64", "search.ranks", (8, 64)),
    ("SEARCH_REG_PARAMS", "0.1,10", "search.reg_params", (0.1, 10.0)),
    ("SEARCH_ALPHAS", "5", "search.alphas", (5.0,)),
    ("SEARCH_MAX_ITERS", "3,4", "search.max_iters", (3, 4)),
    ("SEARCH_CONFIDENCES", "log1p", "search.confidences", ("log1p",)),
    ("SEARCH_HALF_LIVES_DAYS", "1,2", "search.half_lives_days", (1.0, 2.0)),
    ("SPARK_MASTER", "local[2]", "spark.master", "local[2]"),
    ("SPARK_SHUFFLE_PARTITIONS", "8", "spark.shuffle_partitions", 8),
    ("SPARK_NATIVE_BLAS", "1", "spark.native_blas", True),
    ("SPARK_DRIVER_MEMORY", "3g", "spark.driver_memory", "3g"),
    ("SPARK_EXECUTOR_MEMORY", "2g", "spark.executor_memory", "2g"),
    ("SPARK_JAVA_OPTIONS", "-XX:+UseSerialGC", "spark.java_options", "-XX:+UseSerialGC"),
    ("SPARK_JDBC_JAR", "/opt/pg.jar", "spark.jdbc_jar", Path("/opt/pg.jar")),
    ("SPARK_JDBC_ROWS_PER_PARTITION", "1000", "spark.jdbc_rows_per_partition", 1000),
    ("SPARK_JDBC_BATCH_ROWS", "500", "spark.jdbc_batch_rows", 500),
    ("SPARK_JDBC_WRITE_CONNECTIONS", "2", "spark.jdbc_write_connections", 2),
    ("RECOMMENDATIONS_TOP_N", "20", "top_n", 20),
    ("RECOMMENDATIONS_CANDIDATE_POOL", "500", "candidate_pool", 500),
    ("RECOMMENDATIONS_RESCORE_EVERY_DAYS", "3", "rescore_every_days", 3),
    ("EVAL_K", "5", "eval_k", 5),
    ("EVAL_MAX_USERS", "50", "eval_max_users", 50),
    ("HOLDOUT_SEED", "7", "holdout_seed", 7),
    ("HOLDOUT_FRACTION", "0.3", "holdout_fraction", 0.3),
    ("MOOVITAMIX_RUN_ID", "run-42", "run_id", "run-42"),
    ("MLFLOW_TRACKING_URI", "http://mlflow:5000", "mlflow_tracking_uri", "http://mlflow:5000"),
    ("MLFLOW_ARTIFACT_ROOT", "/data/artifacts", "mlflow_artifact_root", "/data/artifacts"),
    ("DBT_TARGET_PATH", "/data/dbt-target", "dbt_target_path", "/data/dbt-target"),
    ("MLFLOW_EXPERIMENT_NAME", "exp", "mlflow_experiment", "exp"),
    ("MLFLOW_REGISTERED_MODEL", "model", "registered_model_name", "model"),
]


def _get(settings: Settings, path: str) -> Any:
    owner: Any = settings
    for name in path.split("."):
        owner = getattr(owner, name)
    return owner


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No variable of VARIABLES set, the project at tmp_path."""
    for variable, *_ in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MOOVITAMIX_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(("variable", "value", "path", "expected"), VARIABLES)
def test_each_variable_sets_its_own_field(
    monkeypatch: pytest.MonkeyPatch,
    clean_env: Path,
    variable: str,
    value: str,
    path: str,
    expected: Any,
) -> None:
    defaults = Settings.from_env()
    monkeypatch.setenv(variable, value)
    settings = Settings.from_env()
    assert _get(settings, path) == expected
    assert _get(defaults, path) != expected
    # Nothing else moved.
    for _, _, other, _ in VARIABLES:
        if other != path:
            assert _get(settings, other) == _get(defaults, other), other


def test_unset_variables_leave_the_defaults(clean_env: Path) -> None:
    settings = Settings.from_env()
    assert settings.warehouse == WarehouseSettings()
    assert settings.als == AlsParams()
    assert settings.policy == PolicySettings()
    assert settings.search == SearchSettings()
    # Computed when unset: the driver heap from the machine's memory, the jar under the project.
    assert settings.spark == replace(
        SparkSettings(),
        driver_memory=settings.spark.driver_memory,
        jdbc_jar=clean_env.resolve() / ".spark/jars/postgresql.jar",
    )
    # The top-level ones: the class defaults, but for the two derived from the project.
    assert replace(settings, project_root=Path.cwd(), mlflow_tracking_uri="") == replace(
        Settings(), spark=settings.spark
    )
    assert settings.project_root == clean_env.resolve()
    assert settings.mlflow_tracking_uri == f"sqlite:///{clean_env.resolve()}/.mlflow/mlflow.db"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WAREHOUSE_PORT", "x", "WAREHOUSE_PORT must be an integer, got 'x'"),
        ("ALS_ALPHA", "ten", "ALS_ALPHA must be a number, got 'ten'"),
        ("RETRAIN_FORCE", "maybe", "RETRAIN_FORCE must be true or false, got 'maybe'"),
        ("ALS_CONFIDENCE", "Sqrt", "ALS_CONFIDENCE must be one of raw, log1p, got 'sqrt'"),
        ("SEARCH_RANKS", "8,x", "SEARCH_RANKS must be a comma-separated list, got '8,x'"),
        (
            "SEARCH_CONFIDENCES",
            "raw,sqrt",
            "SEARCH_CONFIDENCES must list values among raw, log1p, got 'raw,sqrt'",
        ),
        ("SPARK_NATIVE_BLAS", "2", "SPARK_NATIVE_BLAS must be true or false, got '2'"),
        ("HOLDOUT_FRACTION", "a fifth", "HOLDOUT_FRACTION must be a number, got 'a fifth'"),
    ],
)
def test_a_value_that_does_not_parse_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as raised:
        Settings.from_env()
    assert str(raised.value) == message
