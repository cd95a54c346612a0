"""All settings in one place: environment variables with defaults, overridable by CLI options."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, TypeVar


def _env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes"}:
        return True
    if raw in {"0", "false", "no"}:
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _env_choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def _env_list(
    name: str, default: tuple[Any, ...], kind: type, allowed: tuple[str, ...] = ()
) -> tuple[Any, ...]:
    """A comma-separated list of ``kind`` values (each one of ``allowed`` when given)."""
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        values = tuple(kind(item.strip()) for item in raw.split(","))
    except ValueError as exc:
        raise ValueError(f"{name} must be a comma-separated list, got {raw!r}") from exc
    if allowed and not set(values) <= set(allowed):
        raise ValueError(f"{name} must list values among {', '.join(allowed)}, got {raw!r}")
    return values


# Reads one variable: (its name, the default when unset) -> the value, or a ValueError
# naming the variable.
EnvReader = Callable[[str, Any], Any]
# Each field read from the environment: its variable and how to read it.
EnvFields = Mapping[str, tuple[str, EnvReader]]

_Settings = TypeVar("_Settings")


def _from_env(cls: type[_Settings], variables: EnvFields, **given: Any) -> _Settings:
    """The dataclass ``cls`` with each field of ``variables`` read from its variable (the
    field's class default when unset) and the fields of ``given`` as they are. Read in the
    order of ``variables``: with several bad values, the first one's error."""
    read = {
        name: reader(variable, getattr(cls, name)) for name, (variable, reader) in variables.items()
    }
    return cls(**given, **read)


# How listen counts become ALS confidences: the count itself, or log(1 + count) so a
# track played on repeat does not drown everything else a user heard.
CONFIDENCES = ("raw", "log1p")


@dataclass(frozen=True)
class WarehouseSettings:
    host: str = "127.0.0.1"
    port: int = 5433
    user: str = "moovitamix"
    password: str = ""
    dbname: str = "moovitamix"
    connect_timeout_s: int = 5

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    ENV: ClassVar[EnvFields] = {
        "host": ("WAREHOUSE_HOST", _env_str),
        "port": ("WAREHOUSE_PORT", _env_int),
        "user": ("WAREHOUSE_USER", _env_str),
        "password": ("WAREHOUSE_PASSWORD", _env_str),
        "dbname": ("WAREHOUSE_DB", _env_str),
        "connect_timeout_s": ("WAREHOUSE_CONNECT_TIMEOUT", _env_int),
    }

    @classmethod
    def from_env(cls) -> WarehouseSettings:
        return _from_env(cls, cls.ENV)

    def as_reader(self) -> WarehouseSettings:
        """The same warehouse as the role of the read API, which sees marts and ml only."""
        return replace(
            self,
            user=_env_str("WAREHOUSE_READER_USER", "reader"),
            password=_env_str("WAREHOUSE_READER_PASSWORD", ""),
        )


@dataclass(frozen=True)
class AlsParams:
    """ALS hyper-parameters; implicit feedback is fixed because listens are not ratings."""

    rank: int = 16
    # Measured on the stand-in at 20,000 users (make bench-ml): NDCG@10 0.266 at 0.1,
    # 0.286 at 1, 0.292 at 3; at 10 the model collapses to popularity.
    reg_param: float = 3.0
    alpha: float = 10.0
    # Measured on the same data: 5 iterations give NDCG@10 0.2916 against 0.2923 for 10,
    # at half the fit time.
    max_iter: int = 5
    seed: int = 42
    cold_start_strategy: str = "drop"
    # ALS splits users and items into blocks; Spark's default of 10 x 10 makes 100
    # tiny tasks per step on a 2-core machine, most of the time being scheduling.
    num_blocks: int = 2
    # Checkpoint the factor RDDs every N iterations: cuts the lineage of long runs
    # (needs the checkpoint directory that spark.build_spark sets). Spark's default of
    # 10: a 5-iteration run has no lineage worth cutting, and a checkpoint at its last
    # iteration would only write both factor sets to disk once more.
    checkpoint_interval: int = 10
    # Listen counts as they are ("raw") or log1p of them (see CONFIDENCES).
    confidence: str = "raw"
    # Each interaction's weight halves every this many days before the newest one
    # (weights.py): a model that follows what users listen to now. 0: no decay.
    half_life_days: float = 0.0

    # cold_start_strategy is not read from the environment.
    ENV: ClassVar[EnvFields] = {
        "rank": ("ALS_RANK", _env_int),
        "reg_param": ("ALS_REG_PARAM", _env_float),
        "alpha": ("ALS_ALPHA", _env_float),
        "max_iter": ("ALS_MAX_ITER", _env_int),
        "seed": ("ALS_SEED", _env_int),
        "num_blocks": ("ALS_NUM_BLOCKS", _env_int),
        "checkpoint_interval": ("ALS_CHECKPOINT_INTERVAL", _env_int),
        "confidence": ("ALS_CONFIDENCE", partial(_env_choice, allowed=CONFIDENCES)),
        "half_life_days": ("ALS_HALF_LIFE_DAYS", _env_float),
    }

    @classmethod
    def from_env(cls) -> AlsParams:
        return _from_env(cls, cls.ENV)

    def as_mlflow_params(self) -> dict[str, Any]:
        return {
            "als_rank": self.rank,
            "als_reg_param": self.reg_param,
            "als_alpha": self.alpha,
            "als_max_iter": self.max_iter,
            "als_seed": self.seed,
            "als_implicit_prefs": True,
            "als_cold_start_strategy": self.cold_start_strategy,
            "als_num_blocks": self.num_blocks,
            "als_checkpoint_interval": self.checkpoint_interval,
            "als_confidence": self.confidence,
            "als_half_life_days": self.half_life_days,
        }

    @classmethod
    def from_mlflow_params(cls, params: Mapping[str, str]) -> AlsParams | None:
        """The settings a run logged with ``as_mlflow_params`` (None if it logged none)."""
        if "als_rank" not in params:
            return None
        return cls(
            rank=int(params["als_rank"]),
            reg_param=float(params["als_reg_param"]),
            alpha=float(params["als_alpha"]),
            max_iter=int(params["als_max_iter"]),
            seed=int(params["als_seed"]),
            num_blocks=int(params["als_num_blocks"]),
            checkpoint_interval=int(params["als_checkpoint_interval"]),
            confidence=params.get("als_confidence", cls.confidence),
            half_life_days=float(params.get("als_half_life_days", cls.half_life_days)),
        )


@dataclass(frozen=True)
class PolicySettings:
    """When to retrain and when a new model may replace the champion (see policy.py)."""

    # Promotion: challenger NDCG@10 >= champion NDCG@10 - tolerance (same hold-out) ...
    gate_ndcg_tolerance: float = 0.002
    # ... and >= this multiple of the popularity baseline's NDCG@10 ("clearly above").
    gate_min_popularity_lift: float = 1.2
    # Forced retrain when the champion, scored on today's hold-out, falls under this
    # multiple of today's popularity baseline ...
    retrain_min_champion_lift: float = 1.2
    # ... or when it was trained more than this many days ago.
    max_model_age_days: float = 7.0
    # Below this share of interactions new since the champion's training, no retraining:
    # the champion scores them (its lists leave out what users just heard). A retraining
    # at 1,000,000 records costs about 40 minutes; on a day with 2.7 % new interactions
    # it scored exactly the champion's NDCG@10. The share counts since the champion's
    # training, so it grows day after day until a retraining is due.
    retrain_min_changed_share: float = 0.05
    # Operator's override: retrain even if the interactions did not change.
    force_retrain: bool = False

    ENV: ClassVar[EnvFields] = {
        "gate_ndcg_tolerance": ("GATE_NDCG_TOLERANCE", _env_float),
        "gate_min_popularity_lift": ("GATE_MIN_POPULARITY_LIFT", _env_float),
        "retrain_min_champion_lift": ("RETRAIN_MIN_CHAMPION_LIFT", _env_float),
        "max_model_age_days": ("RETRAIN_MAX_MODEL_AGE_DAYS", _env_float),
        "retrain_min_changed_share": ("RETRAIN_MIN_CHANGED_SHARE", _env_float),
        "force_retrain": ("RETRAIN_FORCE", _env_bool),
    }

    @classmethod
    def from_env(cls) -> PolicySettings:
        return _from_env(cls, cls.ENV)


@dataclass(frozen=True)
class SearchSettings:
    """The search over the ALS settings at retraining (search.py): which values it may
    try, and its budget. The first setting tried is always the ALS_* one."""

    # ALS fits the search may make (each on the validation split), 0: no search, the
    # ALS_* settings are the challenger's. Small: a retraining day makes these fits on
    # top of the hold-out's and the final one.
    max_fits: int = 8
    # Minutes after which no new fit starts (a fit already running finishes), counted
    # from the start of the validation split's carving.
    max_minutes: float = 5.0
    # Users whose interactions drive the search (a hashed sample when there are more;
    # 0: all): the fits then cost the same whatever the size of the day.
    max_users: int = 5_000
    # Below this share of interactions new since the champion's training, a retraining
    # reuses the champion's settings and no search runs (retraining itself starts at
    # RETRAIN_MIN_CHANGED_SHARE, lower: not every retraining searches).
    min_changed_share: float = 0.15
    # The relative NDCG@10 gain a costlier setting (rank x iterations) needs over the
    # leader to take its place: the winner is fitted twice on the whole data every
    # retraining. At 1,000,000 records, rank 32 x 10 iterations against 16 x 5 gained
    # 5.6 % on the validation split and made both fits 2.6-2.8 x longer (+1,100 s).
    costlier_min_gain: float = 0.1
    ranks: tuple[int, ...] = (16, 32, 64)
    reg_params: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0)
    alphas: tuple[float, ...] = (3.0, 10.0, 40.0)
    max_iters: tuple[int, ...] = (5, 10, 15)
    confidences: tuple[str, ...] = CONFIDENCES
    # Half-lives tried for the ALS weights, and for the recency-weighted popularity
    # (0 in this list: no decay for ALS; a popularity is never "recent" with 0).
    half_lives_days: tuple[float, ...] = (0.0, 7.0, 30.0)

    ENV: ClassVar[EnvFields] = {
        "max_fits": ("SEARCH_MAX_FITS", _env_int),
        "max_minutes": ("SEARCH_MAX_MINUTES", _env_float),
        "max_users": ("SEARCH_MAX_USERS", _env_int),
        "min_changed_share": ("SEARCH_MIN_CHANGED_SHARE", _env_float),
        "costlier_min_gain": ("SEARCH_COSTLIER_MIN_GAIN", _env_float),
        "ranks": ("SEARCH_RANKS", partial(_env_list, kind=int)),
        "reg_params": ("SEARCH_REG_PARAMS", partial(_env_list, kind=float)),
        "alphas": ("SEARCH_ALPHAS", partial(_env_list, kind=float)),
        "max_iters": ("SEARCH_MAX_ITERS", partial(_env_list, kind=int)),
        "confidences": ("SEARCH_CONFIDENCES", partial(_env_list, kind=str, allowed=CONFIDENCES)),
        "half_lives_days": ("SEARCH_HALF_LIVES_DAYS", partial(_env_list, kind=float)),
    }

    @classmethod
    def from_env(cls) -> SearchSettings:
        return _from_env(cls, cls.ENV)

    def as_mlflow_params(self) -> dict[str, Any]:
        return {
            "search_max_fits": self.max_fits,
            "search_max_minutes": self.max_minutes,
            "search_max_users": self.max_users,
            "search_min_changed_share": self.min_changed_share,
            "search_costlier_min_gain": self.costlier_min_gain,
        }


def machine_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_driver_memory() -> str:
    """Spark's driver heap when SPARK_DRIVER_MEMORY is not set: 30 % of the machine's
    memory (at least 1 GiB). In local mode the driver JVM is also the executor, so it
    holds the interactions, ALS's rating blocks and the shuffles; Spark's own 1 GiB
    default ran out of memory at 100,000 users. 30 % leaves room for the warehouse and
    the Python workers on the same machine."""
    return f"{max(1, machine_memory_bytes() * 3 // 10 // 2**30)}g"


@dataclass(frozen=True)
class SparkSettings:
    master: str = "local[*]"
    # Shuffle partitions when the data is small; ``partitions_for`` raises it with the rows.
    shuffle_partitions: int = 4
    # Let Spark load the machine's native BLAS (see spark.build_spark: slower at rank 16).
    native_blas: bool = False
    # JVM heap of the driver (a Spark size string such as "7g"); in local mode it is
    # the whole job's memory.
    driver_memory: str = "1g"
    # Executor heap on a cluster (empty: Spark's default); unused in local mode.
    executor_memory: str = ""
    # More JVM options for the driver and the executors. A short job on small data spends
    # most of its CPU compiling Java it runs for seconds: "-XX:TieredStopAtLevel=1
    # -XX:+UseSerialGC" halved it on 200 records; at a million records the full JIT pays.
    java_options: str = ""
    # The PostgreSQL JDBC driver (installed by the project's setup, see ml/ml.mk).
    jdbc_jar: Path = Path(".spark/jars/postgresql.jar")
    # Rows per JDBC read partition: each partition is one query and one connection.
    jdbc_rows_per_partition: int = 2_000_000
    # Rows per INSERT batch when the executors write to Postgres.
    jdbc_batch_rows: int = 10_000
    # Concurrent connections writing the recommendations.
    jdbc_write_connections: int = 4

    # driver_memory and jdbc_jar are read in from_env: their defaults depend on the machine
    # and on the project's place.
    ENV: ClassVar[EnvFields] = {
        "master": ("SPARK_MASTER", _env_str),
        "shuffle_partitions": ("SPARK_SHUFFLE_PARTITIONS", _env_int),
        "native_blas": ("SPARK_NATIVE_BLAS", _env_bool),
        "executor_memory": ("SPARK_EXECUTOR_MEMORY", _env_str),
        "java_options": ("SPARK_JAVA_OPTIONS", _env_str),
        "jdbc_rows_per_partition": ("SPARK_JDBC_ROWS_PER_PARTITION", _env_int),
        "jdbc_batch_rows": ("SPARK_JDBC_BATCH_ROWS", _env_int),
        "jdbc_write_connections": ("SPARK_JDBC_WRITE_CONNECTIONS", _env_int),
    }

    @classmethod
    def from_env(cls, project_root: Path) -> SparkSettings:
        return _from_env(
            cls,
            cls.ENV,
            driver_memory=_env_str("SPARK_DRIVER_MEMORY", "") or default_driver_memory(),
            jdbc_jar=Path(
                _env_str("SPARK_JDBC_JAR", "") or project_root / ".spark/jars/postgresql.jar"
            ),
        )

    def as_mlflow_params(self) -> dict[str, Any]:
        return {
            "spark_master": self.master,
            "spark_driver_memory": self.driver_memory,
            "spark_executor_memory": self.executor_memory or "default",
            "spark_shuffle_partitions": self.shuffle_partitions,
        }


@dataclass(frozen=True)
class Settings:
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    als: AlsParams = field(default_factory=AlsParams)
    policy: PolicySettings = field(default_factory=PolicySettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    project_root: Path = field(default_factory=Path.cwd)
    spark: SparkSettings = field(default_factory=SparkSettings)
    top_n: int = 10
    # ALS scores each user against the most listened tracks only, this many of them
    # (0: every track). Exact scoring of 1M users against 1M tracks is 10^12 dot
    # products; ALS seldom ranks a rarely heard track in anyone's top 10 (measured at
    # 100,000 users by `make bench-candidates`: the same NDCG@10 as exact scoring down to
    # 10,000 candidates).
    candidate_pool: int = 20_000
    # On a day the served model stays, a user whose history has not changed since its
    # training keeps the list it gave them (reuse.py); each user is still scored again at
    # least every this many days (a hashed share of them each day): the candidate pool
    # and the popularity that completes short lists move. 1: every list every day.
    rescore_every_days: int = 7
    eval_k: int = 10
    # Users judged at evaluation (a hashed sample when more have held-out tracks; 0: all).
    eval_max_users: int = 100_000
    holdout_seed: int = 42
    # Share of each user's items held out when the data has no usable time (per-user split);
    # with time, the share of the newest interactions held out (time-based split).
    holdout_fraction: float = 0.2
    # The run id of ml.training_runs: the orchestrator's (MOOVITAMIX_RUN_ID) so one id follows a
    # daily run through every step; generated when the job runs alone.
    run_id: str = ""
    mlflow_tracking_uri: str = ""
    # Empty: <project_root>/.mlflow/artifacts, beside the default sqlite store.
    mlflow_artifact_root: str = ""
    mlflow_experiment: str = "moovitamix-recommender"
    registered_model_name: str = "moovitamix-als"
    # Where dbt writes its artifacts, read as dbt reads it; empty: <project_root>/transform/target.
    dbt_target_path: str = ""

    @property
    def mlflow_artifact_dir(self) -> Path:
        default = self.project_root / ".mlflow" / "artifacts"
        return Path(self.mlflow_artifact_root or default).resolve()

    @property
    def mlflow_artifact_location(self) -> str:
        return self.mlflow_artifact_dir.as_uri()

    @property
    def dbt_target_dir(self) -> Path:
        return Path(self.dbt_target_path or self.project_root / "transform" / "target")

    @property
    def checkpoint_dir(self) -> Path:
        return self.project_root / ".spark" / "checkpoints"

    # The groups, the project's place and the tracking URI (its default lies in the
    # project) are read in from_env.
    ENV: ClassVar[EnvFields] = {
        "top_n": ("RECOMMENDATIONS_TOP_N", _env_int),
        "candidate_pool": ("RECOMMENDATIONS_CANDIDATE_POOL", _env_int),
        "rescore_every_days": ("RECOMMENDATIONS_RESCORE_EVERY_DAYS", _env_int),
        "eval_k": ("EVAL_K", _env_int),
        "eval_max_users": ("EVAL_MAX_USERS", _env_int),
        "holdout_seed": ("HOLDOUT_SEED", _env_int),
        "holdout_fraction": ("HOLDOUT_FRACTION", _env_float),
        "run_id": ("MOOVITAMIX_RUN_ID", _env_str),
        "mlflow_artifact_root": ("MLFLOW_ARTIFACT_ROOT", _env_str),
        "mlflow_experiment": ("MLFLOW_EXPERIMENT_NAME", _env_str),
        "registered_model_name": ("MLFLOW_REGISTERED_MODEL", _env_str),
        "dbt_target_path": ("DBT_TARGET_PATH", _env_str),
    }

    @classmethod
    def from_env(cls) -> Settings:
        project_root = Path(os.environ.get("MOOVITAMIX_HOME") or Path.cwd()).resolve()
        default_tracking = f"sqlite:///{project_root / '.mlflow' / 'mlflow.db'}"
        return _from_env(
            cls,
            cls.ENV,
            warehouse=WarehouseSettings.from_env(),
            als=AlsParams.from_env(),
            policy=PolicySettings.from_env(),
            search=SearchSettings.from_env(),
            project_root=project_root,
            spark=SparkSettings.from_env(project_root),
            mlflow_tracking_uri=_env_str("MLFLOW_TRACKING_URI", "") or default_tracking,
        )

    def checked(self) -> Settings:
        """These settings, once each is within what it allows (else one line naming it):
        before any Spark or MLflow work, not deep inside a fit or as an empty publication."""
        for variable, path, minimum, maximum in RANGES:
            owner: Any = self
            for name in path.split("."):
                owner = getattr(owner, name)
            values = owner if isinstance(owner, tuple) else (owner,)
            if not values:
                raise ValueError(f"{variable} is empty: it must list at least one value")
            for value in values:
                if not minimum <= value <= maximum:
                    upper = "" if maximum == math.inf else f" and at most {maximum:g}"
                    allowed = f"at least {minimum:g}{upper}"
                    raise ValueError(f"{variable}={value!r} is not allowed: it must be {allowed}")
        return self

    def with_overrides(self, **overrides: Any) -> Settings:
        """Apply CLI options (``None`` means "not given": keep the env/default value)."""
        als_fields = {"rank", "reg_param", "alpha", "max_iter", "seed"}
        policy_fields = {"force_retrain"}
        given = {k: v for k, v in overrides.items() if v is not None}
        als_changes = {k: v for k, v in given.items() if k in als_fields}
        policy_changes = {k: v for k, v in given.items() if k in policy_fields}
        spark_changes = {"master": given.pop("spark_master")} if "spark_master" in given else {}
        top_changes = {k: v for k, v in given.items() if k not in als_fields | policy_fields}
        return replace(
            self,
            als=replace(self.als, **als_changes),
            policy=replace(self.policy, **policy_changes),
            spark=replace(self.spark, **spark_changes),
            **top_changes,
        )


# What each numeric setting allows: (its variable, where it lives in Settings, min, max);
# a list setting: each of its values.
RANGES: tuple[tuple[str, str, float, float], ...] = (
    ("ALS_RANK", "als.rank", 1, 10_000),
    ("ALS_REG_PARAM", "als.reg_param", 0, math.inf),
    ("ALS_ALPHA", "als.alpha", 0, math.inf),
    ("ALS_MAX_ITER", "als.max_iter", 1, 1_000),
    ("ALS_NUM_BLOCKS", "als.num_blocks", 1, 10_000),
    ("ALS_CHECKPOINT_INTERVAL", "als.checkpoint_interval", 1, 1_000),
    ("ALS_HALF_LIFE_DAYS", "als.half_life_days", 0, math.inf),
    ("SEARCH_MAX_FITS", "search.max_fits", 0, 1_000),
    ("SEARCH_MAX_MINUTES", "search.max_minutes", 0, math.inf),
    ("SEARCH_MAX_USERS", "search.max_users", 0, math.inf),
    ("SEARCH_MIN_CHANGED_SHARE", "search.min_changed_share", 0, 1),
    ("SEARCH_COSTLIER_MIN_GAIN", "search.costlier_min_gain", 0, math.inf),
    ("SEARCH_RANKS", "search.ranks", 1, 10_000),
    ("SEARCH_REG_PARAMS", "search.reg_params", 0, math.inf),
    ("SEARCH_ALPHAS", "search.alphas", 0, math.inf),
    ("SEARCH_MAX_ITERS", "search.max_iters", 1, 1_000),
    ("SEARCH_HALF_LIVES_DAYS", "search.half_lives_days", 0, math.inf),
    ("SPARK_SHUFFLE_PARTITIONS", "spark.shuffle_partitions", 1, 100_000),
    ("SPARK_JDBC_ROWS_PER_PARTITION", "spark.jdbc_rows_per_partition", 1, math.inf),
    ("SPARK_JDBC_BATCH_ROWS", "spark.jdbc_batch_rows", 1, math.inf),
    ("SPARK_JDBC_WRITE_CONNECTIONS", "spark.jdbc_write_connections", 1, 64),
    ("RECOMMENDATIONS_TOP_N", "top_n", 1, 1_000),
    ("RECOMMENDATIONS_CANDIDATE_POOL", "candidate_pool", 0, math.inf),
    ("RECOMMENDATIONS_RESCORE_EVERY_DAYS", "rescore_every_days", 1, 366),
    ("EVAL_K", "eval_k", 1, 1_000),
    ("EVAL_MAX_USERS", "eval_max_users", 0, math.inf),
    ("HOLDOUT_FRACTION", "holdout_fraction", 0.01, 0.99),
    ("GATE_MIN_POPULARITY_LIFT", "policy.gate_min_popularity_lift", 0, math.inf),
    ("RETRAIN_MIN_CHAMPION_LIFT", "policy.retrain_min_champion_lift", 0, math.inf),
    ("RETRAIN_MAX_MODEL_AGE_DAYS", "policy.max_model_age_days", 0, math.inf),
    ("RETRAIN_MIN_CHANGED_SHARE", "policy.retrain_min_changed_share", 0, 1),
    ("WAREHOUSE_PORT", "warehouse.port", 1, 65_535),
)
