"""All settings in one place: environment variables with defaults, overridable by CLI options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


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

    @classmethod
    def from_env(cls) -> WarehouseSettings:
        return cls(
            host=_env_str("WAREHOUSE_HOST", cls.host),
            port=_env_int("WAREHOUSE_PORT", cls.port),
            user=_env_str("WAREHOUSE_USER", cls.user),
            password=_env_str("WAREHOUSE_PASSWORD", cls.password),
            dbname=_env_str("WAREHOUSE_DB", cls.dbname),
            connect_timeout_s=_env_int("WAREHOUSE_CONNECT_TIMEOUT", cls.connect_timeout_s),
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

    @classmethod
    def from_env(cls) -> AlsParams:
        return cls(
            rank=_env_int("ALS_RANK", cls.rank),
            reg_param=_env_float("ALS_REG_PARAM", cls.reg_param),
            alpha=_env_float("ALS_ALPHA", cls.alpha),
            max_iter=_env_int("ALS_MAX_ITER", cls.max_iter),
            seed=_env_int("ALS_SEED", cls.seed),
            num_blocks=_env_int("ALS_NUM_BLOCKS", cls.num_blocks),
            checkpoint_interval=_env_int("ALS_CHECKPOINT_INTERVAL", cls.checkpoint_interval),
        )

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
        }


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes"}:
        return True
    if raw in {"0", "false", "no"}:
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


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
    # Operator's override: retrain even if the interactions did not change.
    force_retrain: bool = False

    @classmethod
    def from_env(cls) -> PolicySettings:
        return cls(
            gate_ndcg_tolerance=_env_float("GATE_NDCG_TOLERANCE", cls.gate_ndcg_tolerance),
            gate_min_popularity_lift=_env_float(
                "GATE_MIN_POPULARITY_LIFT", cls.gate_min_popularity_lift
            ),
            retrain_min_champion_lift=_env_float(
                "RETRAIN_MIN_CHAMPION_LIFT", cls.retrain_min_champion_lift
            ),
            max_model_age_days=_env_float("RETRAIN_MAX_MODEL_AGE_DAYS", cls.max_model_age_days),
            force_retrain=_env_bool("RETRAIN_FORCE", cls.force_retrain),
        )


@dataclass(frozen=True)
class Settings:
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    als: AlsParams = field(default_factory=AlsParams)
    policy: PolicySettings = field(default_factory=PolicySettings)
    project_root: Path = field(default_factory=Path.cwd)
    spark_master: str = "local[*]"
    # A 2-core machine and a few thousand rows: Spark's default of 200 shuffle
    # partitions would spend most of the run scheduling empty tasks.
    spark_shuffle_partitions: int = 4
    # Let Spark load the machine's native BLAS (see spark.build_spark: slower at rank 16).
    spark_native_blas: bool = False
    top_n: int = 10
    eval_k: int = 10
    holdout_seed: int = 42
    # Share of each user's items held out when the data has no usable time (per-user split);
    # with time, the share of the newest interactions held out (time-based split).
    holdout_fraction: float = 0.2
    # The ledger's run id: the orchestrator's (MOOVITAMIX_RUN_ID) so one id follows a
    # daily run through every step; generated when the job runs alone.
    run_id: str = ""
    mlflow_tracking_uri: str = ""
    # Empty: <project_root>/.mlflow/artifacts, beside the default sqlite store.
    mlflow_artifact_root: str = ""
    mlflow_experiment: str = "moovitamix-recommender"
    registered_model_name: str = "moovitamix-als"

    @property
    def mlflow_artifact_dir(self) -> Path:
        default = self.project_root / ".mlflow" / "artifacts"
        return Path(self.mlflow_artifact_root or default).resolve()

    @property
    def mlflow_artifact_location(self) -> str:
        return self.mlflow_artifact_dir.as_uri()

    @property
    def checkpoint_dir(self) -> Path:
        return self.project_root / ".spark" / "checkpoints"

    @classmethod
    def from_env(cls) -> Settings:
        project_root = Path(os.environ.get("MOOVITAMIX_HOME") or Path.cwd()).resolve()
        default_tracking = f"sqlite:///{project_root / '.mlflow' / 'mlflow.db'}"
        return cls(
            warehouse=WarehouseSettings.from_env(),
            als=AlsParams.from_env(),
            policy=PolicySettings.from_env(),
            project_root=project_root,
            spark_master=_env_str("SPARK_MASTER", "local[*]"),
            spark_shuffle_partitions=_env_int("SPARK_SHUFFLE_PARTITIONS", 4),
            spark_native_blas=_env_bool("SPARK_NATIVE_BLAS", False),
            top_n=_env_int("RECOMMENDATIONS_TOP_N", 10),
            eval_k=_env_int("EVAL_K", 10),
            holdout_seed=_env_int("HOLDOUT_SEED", 42),
            holdout_fraction=_env_float("HOLDOUT_FRACTION", 0.2),
            run_id=_env_str("MOOVITAMIX_RUN_ID", ""),
            mlflow_tracking_uri=_env_str("MLFLOW_TRACKING_URI", "") or default_tracking,
            mlflow_artifact_root=_env_str("MLFLOW_ARTIFACT_ROOT", ""),
            mlflow_experiment=_env_str("MLFLOW_EXPERIMENT_NAME", "moovitamix-recommender"),
            registered_model_name=_env_str("MLFLOW_REGISTERED_MODEL", "moovitamix-als"),
        )

    def with_overrides(self, **overrides: Any) -> Settings:
        """Apply CLI options (``None`` means "not given": keep the env/default value)."""
        als_fields = {"rank", "reg_param", "alpha", "max_iter", "seed"}
        policy_fields = {"force_retrain"}
        given = {k: v for k, v in overrides.items() if v is not None}
        als_changes = {k: v for k, v in given.items() if k in als_fields}
        policy_changes = {k: v for k, v in given.items() if k in policy_fields}
        top_changes = {k: v for k, v in given.items() if k not in als_fields | policy_fields}
        return replace(
            self,
            als=replace(self.als, **als_changes),
            policy=replace(self.policy, **policy_changes),
            **top_changes,
        )
