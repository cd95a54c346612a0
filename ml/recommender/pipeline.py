"""The daily run: read ► decide (retrain or skip) ► train + evaluate + gate ► score ►
publish ► ledger. Every decision is logged with its reason (events, MLflow, ledger)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import SparkSession

from . import data, ledger, policy, tracking
from .events import emit
from .idmap import apply_mapping, extend_mapping
from .interactions import fingerprint, split_for_evaluation
from .ledger import RunRecord
from .popularity import Popularity
from .recommend import Published, build_lists
from .score import als_top_n
from .settings import Settings
from .spark import loaded_native_blas, require_java, spark_session
from .train import Evaluation, NothingToHoldOut, evaluate, fit_als

POPULARITY_VERSION = "popularity"


@dataclass(frozen=True)
class Inputs:
    interactions: pd.DataFrame
    users: pd.DataFrame
    genre_of_track: dict[int, str]
    version: data.DataVersion
    fingerprint: str


@dataclass(frozen=True)
class Serving:
    model: ALSModel | None
    version: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


def read_inputs(settings: Settings) -> Inputs:
    """Interactions with dense indices (extending the persistent mapping), users, genres."""
    with data.connect(settings.warehouse) as conn:
        data.ensure_ml_schema(conn)
        raw = data.read_interactions(conn)
        users = data.read_users(conn)
        genres = data.read_track_genres(conn)
        mappings = {}
        for kind, ids in (("user", raw["user_id"]), ("track", raw["track_id"])):
            existing = data.load_mapping(conn, kind)
            added = extend_mapping(existing, ids)
            data.save_mapping(conn, kind, added)
            mappings[kind] = pd.concat([existing, added])
        version = data.data_version(conn, len(raw), settings.project_root)
    interactions = apply_mapping(raw, mappings["user"], mappings["track"])
    idx_of_track = mappings["track"]
    genre_of_track = {
        int(idx_of_track[t]): g
        for t, g in zip(genres["track_id"], genres["genre"], strict=True)
        if g and t in idx_of_track.index
    }
    return Inputs(interactions, users, genre_of_track, version, fingerprint(interactions))


def _champion_model(settings: Settings) -> ALSModel:
    return tracking.load_champion(settings, settings.project_root / ".spark" / "mlflow-tmp")


def train_and_gate(
    spark: SparkSession,
    settings: Settings,
    inputs: Inputs,
    champion: policy.Champion | None,
    retrain: policy.RetrainDecision,
    record: RunRecord,
) -> Serving:
    champion_model = _champion_model(settings) if champion else None
    split = split_for_evaluation(
        inputs.interactions, settings.holdout_fraction, settings.holdout_seed
    )
    record.split_method = split.method
    try:
        evaluation = evaluate(spark, split, settings.als, settings.eval_k, champion_model)
    except NothingToHoldOut as exc:
        record.decision = policy.KEPT_CHAMPION if champion else policy.NO_CHAMPION
        record.reason = f"{retrain.reason}; {exc}"
        return Serving(champion_model, champion.version if champion else POPULARITY_VERSION)
    _record_evaluation(record, evaluation)
    tracking.log_metrics(evaluation.as_mlflow_metrics())
    emit(
        "evaluated",
        split=split.method,
        train_rows=evaluation.train_rows,
        test_rows=evaluation.test_rows,
        evaluated_users=evaluation.evaluated_users,
        **evaluation.as_mlflow_metrics(),
    )

    forced, reason = retrain.forced, retrain.reason
    champion_ndcg = evaluation.champion["ndcg_at_10"] if evaluation.champion else None
    if champion_ndcg is not None and not forced:
        degraded = policy.champion_degradation(
            champion_ndcg, evaluation.popularity["ndcg_at_10"], settings.policy
        )
        forced, reason = (True, degraded) if degraded else (forced, reason)
    verdict = policy.gate(
        evaluation.model["ndcg_at_10"],
        champion_ndcg,
        evaluation.popularity["ndcg_at_10"],
        forced,
        settings.policy,
    )
    record.decision, record.reason = verdict.decision, f"{reason}; {verdict.reason}"

    # The served model learns from every interaction, the held-out ones included.
    model = fit_als(spark, inputs.interactions, settings.als)
    registered = tracking.log_and_register_model(
        model, settings, settings.project_root / ".spark" / "mlflow-tmp"
    )
    emit(
        "model_registered",
        name=registered.name,
        version=registered.version,
        model_uri=registered.model_uri,
    )
    if verdict.promote:
        tracking.promote(settings, registered.version)
        return Serving(model, registered.version)
    if champion is not None:
        return Serving(champion_model, champion.version)
    return Serving(None, POPULARITY_VERSION)


def _record_evaluation(record: RunRecord, evaluation: Evaluation) -> None:
    record.ndcg_at_10 = evaluation.model["ndcg_at_10"]
    record.precision_at_10 = evaluation.model["precision_at_10"]
    record.recall_at_10 = evaluation.model["recall_at_10"]
    record.map_at_10 = evaluation.model["map_at_10"]
    record.coverage = evaluation.model["coverage"]
    record.popularity_ndcg_at_10 = evaluation.popularity["ndcg_at_10"]
    if evaluation.champion is not None:
        record.champion_ndcg_at_10 = evaluation.champion["ndcg_at_10"]


def score(spark: SparkSession, settings: Settings, inputs: Inputs, serving: Serving) -> Published:
    interactions = inputs.interactions
    model_lists = (
        als_top_n(
            spark, serving.model, interactions, interactions["user_idx"].unique(), settings.top_n
        )
        if serving.model is not None
        else {}
    )
    popularity = Popularity.from_interactions(interactions, inputs.genre_of_track)
    return build_lists(model_lists, interactions, inputs.users, popularity, settings.top_n)


def _run(settings: Settings, record: RunRecord) -> None:
    inputs = read_inputs(settings)
    record.interactions_rows = inputs.version.interactions_rows
    record.data_fingerprint = inputs.fingerprint
    emit(
        "interactions_read",
        rows=len(inputs.interactions),
        users=len(inputs.users),
        fingerprint=inputs.fingerprint,
        max_updated_at=inputs.version.max_updated_at,
        dbt_run_id=inputs.version.dbt_run_id,
    )

    experiment_id = tracking.configure(settings)
    champion = tracking.champion(settings)
    retrain = policy.retrain_decision(
        champion,
        tracking.last_trained_fingerprint(experiment_id),
        inputs.fingerprint,
        settings.policy,
    )
    emit(
        "retrain_decision",
        train=retrain.train,
        forced=retrain.forced,
        reason=retrain.reason,
        champion_version=champion.version if champion else "none",
    )

    with (
        spark_session(settings) as spark,
        tracking.mlflow.start_run(run_name=f"als-{_now():%Y%m%dT%H%M%SZ}") as mlflow_run,
    ):
        record.mlflow_run_id = mlflow_run.info.run_id
        tracking.log_params(
            {
                **settings.als.as_mlflow_params(),
                "spark_master": settings.spark_master,
                "spark_version": spark.version,
                "spark_shuffle_partitions": settings.spark_shuffle_partitions,
                "spark_default_parallelism": spark.sparkContext.defaultParallelism,
                "spark_native_blas": loaded_native_blas(spark),
                "top_n": settings.top_n,
                "eval_k": settings.eval_k,
                "holdout_seed": settings.holdout_seed,
                "holdout_fraction": settings.holdout_fraction,
                "data_interactions_rows": inputs.version.interactions_rows,
                "data_users_rows": len(inputs.users),
                "data_max_updated_at": inputs.version.max_updated_at,
                "data_dbt_run_id": inputs.version.dbt_run_id,
                "data_fingerprint": inputs.fingerprint,
            }
        )
        if retrain.train:
            tracking.mlflow.set_tag(tracking.FINGERPRINT_TAG, inputs.fingerprint)
            serving = train_and_gate(spark, settings, inputs, champion, retrain, record)
        else:
            assert champion is not None  # retrain_decision trains when there is none
            record.decision, record.reason = policy.SKIPPED, retrain.reason
            record.champion_ndcg_at_10 = champion.ndcg_at_10
            serving = Serving(_champion_model(settings), champion.version)
        tracking.mlflow.set_tags({"decision": record.decision, "reason": record.reason[:5000]})
        emit(
            "gate",
            decision=record.decision,
            reason=record.reason,
            level=logging.INFO if record.decision != policy.KEPT_CHAMPION else logging.WARNING,
        )

        published = score(spark, settings, inputs, serving)
        with data.connect(settings.warehouse) as conn:
            written = data.replace_recommendations(conn, published.rows(), serving.version, _now())
        record.model_version = serving.version
        record.users_scored = len(published.lists)
        record.cold_start_users = published.cold_start_users
        tracking.log_metrics(
            {
                "rows_written": written,
                "users_scored": len(published.lists),
                "cold_start_users": published.cold_start_users,
                "fallback_users": published.fallback_users,
            }
        )
        emit(
            "recommendations_written",
            table=data.RECOMMENDATIONS_TABLE,
            rows=written,
            users=len(published.lists),
            cold_start_users=published.cold_start_users,
            fallback_users=published.fallback_users,
            model_version=serving.version,
        )


def run(settings: Settings) -> RunRecord:
    """One run; the ledger row and the final ``event=run_complete`` line are written
    whatever happens (a failure is recorded, then re-raised for the CLI)."""
    record = RunRecord(run_id=settings.run_id or uuid.uuid4().hex, started_at=_now())
    started = time.perf_counter()
    try:
        # Cheap checks first: a missing JVM fails in a second, not after Spark's start-up.
        require_java()
        _run(settings, record)
    except BaseException as exc:
        record.decision = policy.FAILED
        record.reason = str(exc) or type(exc).__name__
        raise
    finally:
        record.finished_at = _now()
        _write_ledger(settings, record)
        fields = {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in record.as_fields().items()
        }
        emit("run_complete", seconds=round(time.perf_counter() - started, 1), **fields)
    return record


def _write_ledger(settings: Settings, record: RunRecord) -> None:
    try:
        with data.connect(settings.warehouse) as conn:
            ledger.write(conn, record)
    except Exception as exc:  # the ledger must never hide the run's own outcome
        emit("ledger_not_written", level=logging.WARNING, reason=str(exc).splitlines()[0])
