"""The daily run: read ► decide (retrain or skip) ► train + evaluate + gate ► score ►
publish ► record the run. Every decision is logged with its reason (events, MLflow,
ml.training_runs)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
from pyspark import StorageLevel
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from . import data, idmap, policy, reuse, search, tracking, training_runs
from .candidates import ALS, Candidate
from .events import emit, timed
from .interactions import Split, fingerprint, split_for_evaluation
from .jdbc import Jdbc
from .recommend import ListCounts, build_lists
from .settings import Settings
from .spark import loaded_native_blas, require_java, spark_session
from .train import Evaluation, NothingToHoldOut, evaluate, fit_als
from .training_runs import TrainingRun

POPULARITY_VERSION = "popularity"
# Shuffle partitions grow with the data (about this many interactions each), so a sort
# or a join of tens of millions of rows never makes a few huge tasks.
ROWS_PER_SHUFFLE_PARTITION = 1_000_000
# Rows collected for the model's input example.
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Inputs:
    # (user_id, track_id, weight, seen_at, user_idx, track_idx), cached on the executors.
    interactions: DataFrame
    rows: int
    users: DataFrame
    track_genres: DataFrame
    # Today's id mappings (id, idx), cached: tracks to name the lists' tracks, users to
    # tell which users the served model knows.
    track_indices: DataFrame
    user_indices: DataFrame
    version: data.DataVersion
    fingerprint: str
    # A few (user_idx, track_idx) rows, collected: the model's input example in MLflow.
    sample: pd.DataFrame


@dataclass(frozen=True)
class Serving:
    # The ALS model whose lists are served; None: popularity lists for everyone.
    model: ALSModel | None
    version: str
    # With no model: recent popularity when > 0, plain popularity at 0.
    popularity_half_life_days: float = 0.0

    @classmethod
    def of(cls, served: Candidate | None, model: ALSModel | None, version: str) -> Serving:
        """What a version serves: its ALS model's lists, or a popularity candidate's
        (``served`` None: an ALS version from before candidates were recorded)."""
        if served is None or served.is_als:
            return cls(model, version)
        return cls(None, version, served.popularity_half_life_days)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _mapping(
    spark: SparkSession, jdbc: Jdbc, settings: Settings, kind: str, ids: DataFrame
) -> DataFrame:
    """Today's complete id mapping of ``kind``: yesterday's plus the ids seen for the
    first time, added in one transaction."""
    existing = data.read_mapping(spark, jdbc, kind).cache()
    added = idmap.new_entries(existing, ids).withColumnRenamed("id", f"{kind}_id")
    with data.connect(settings.warehouse) as conn:
        jdbc.append(added, data.prepare_staging(conn, f"ml.{kind}_index"))
        count = data.append_staged_mapping(conn, kind)
    existing.unpersist()
    mapping, ids = idmap.cached_for_joins(data.read_mapping(spark, jdbc, kind))
    emit("id_mapping_extended", kind=kind, added=count, ids=ids)
    return mapping


def read_inputs(spark: SparkSession, settings: Settings) -> Inputs:
    """Interactions with dense indices (extending the persistent mappings), users,
    genres: read by the executors, partitioned by id range."""
    jdbc = Jdbc.of(settings.warehouse, settings.spark)
    with data.connect(settings.warehouse) as conn:
        shapes = {
            "interactions": data.table_shape(conn, data.INTERACTIONS_TABLE, "user_id"),
            "users": data.table_shape(conn, "marts.dim_users", "user_id"),
            "tracks": data.table_shape(conn, "marts.dim_tracks", "track_id"),
        }
        version = data.data_version(conn, settings.dbt_target_dir)
    spark.conf.set(
        "spark.sql.shuffle.partitions",
        str(
            max(
                settings.spark.shuffle_partitions,
                shapes["interactions"].estimated_rows // ROWS_PER_SHUFFLE_PARTITION,
            )
        ),
    )
    raw = data.read_interactions(spark, jdbc, shapes["interactions"]).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    user_indices = _mapping(spark, jdbc, settings, "user", raw.select("user_id"))
    track_indices = _mapping(spark, jdbc, settings, "track", raw.select("track_id"))
    interactions = idmap.apply_mapping(raw, user_indices, track_indices).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    rows = interactions.count()
    raw.unpersist()
    return Inputs(
        interactions=interactions,
        rows=rows,
        users=data.read_users(spark, jdbc, shapes["users"]).cache(),
        track_genres=data.read_track_genres(spark, jdbc, shapes["tracks"]),
        track_indices=track_indices,
        user_indices=user_indices,
        version=version,
        fingerprint=fingerprint(interactions),
        sample=interactions.select(*tracking.MODEL_INPUTS).limit(SAMPLE_ROWS).toPandas(),
    )


def _champion_model(settings: Settings) -> ALSModel:
    return tracking.load_champion(settings, settings.project_root / ".spark" / "mlflow-tmp")


def challenger_of(
    settings: Settings,
    split: Split,
    champion: policy.Champion | None,
    share: float | None,
) -> search.Tuned:
    """The champion's settings and candidate when few interactions (``share``) changed
    since its training; else the search's choice."""
    why_reused = search.reused(champion, share, settings.search)
    if why_reused is not None:
        assert champion is not None and champion.served is not None
        return search.Tuned(champion.served, None, 0, why_reused)
    with timed("search_done") as fields:
        tuned = search.tune(split, settings)
        fields.update(candidate=tuned.candidate.label, fits=tuned.fits, reason=tuned.reason)
    return tuned


def train_and_gate(
    settings: Settings,
    inputs: Inputs,
    champion: policy.Champion | None,
    retrain: policy.RetrainDecision,
    changed_share: float | None,
    champion_learnt_until: datetime | None,
    record: TrainingRun,
) -> Serving:
    champion_model = _champion_model(settings) if champion else None
    split = split_for_evaluation(
        inputs.interactions,
        settings.holdout_fraction,
        settings.holdout_seed,
        champion_learnt_until,
    )
    tracking.log_params({"split_method": split.method})
    tuned = challenger_of(settings, split, champion, changed_share)
    challenger = tuned.candidate
    record.candidate = challenger.kind
    # The parent run holds the settings of what goes to the gate; each setting tried is
    # a run nested in it.
    tracking.log_params({**challenger.as_mlflow_params(), "search_fits": tuned.fits})
    if tuned.validation_ndcg_at_10 is not None:
        tracking.log_metrics({search.VALIDATION_METRIC: tuned.validation_ndcg_at_10})
    # A version registered before candidates were recorded serves its ALS model.
    served_by_champion = (champion.served if champion else None) or Candidate(ALS, settings.als)
    try:
        evaluation = evaluate(
            split,
            challenger,
            settings.eval_k,
            settings.candidate_pool,
            (served_by_champion, champion_model) if champion_model is not None else None,
            settings.eval_max_users,
        )
    except NothingToHoldOut as exc:
        record.decision = policy.KEPT_CHAMPION if champion else policy.NO_CHAMPION
        record.reason = f"{retrain.reason}; {tuned.reason}; {exc}"
        if champion is None:
            return Serving(None, POPULARITY_VERSION)
        return Serving.of(champion.served, champion_model, champion.version)
    _record_evaluation(record, evaluation)
    tracking.log_metrics(evaluation.as_mlflow_metrics())
    emit(
        "evaluated",
        split=split.method,
        candidate=challenger.label,
        train_rows=evaluation.train_rows,
        test_rows=evaluation.test_rows,
        evaluated_users=evaluation.evaluated_users,
        **evaluation.as_mlflow_metrics(),
    )

    forced, reason = retrain.forced, f"{retrain.reason}; {tuned.reason}"
    champion_ndcg = evaluation.champion["ndcg_at_10"] if evaluation.champion else None
    if champion_ndcg is not None and not forced:
        degraded = policy.champion_degradation(
            champion_ndcg, evaluation.popularity["ndcg_at_10"], settings.policy
        )
        forced, reason = (True, f"{degraded}; {tuned.reason}") if degraded else (forced, reason)
    verdict = policy.gate(
        evaluation.model["ndcg_at_10"],
        champion_ndcg,
        evaluation.popularity["ndcg_at_10"],
        forced,
        settings.policy,
    )
    record.decision, record.reason = verdict.decision, f"{reason}; {verdict.reason}"

    # The served model learns from every interaction, the held-out ones included. A
    # version serving popularity holds the ALS model too: every version is one model
    # of the registry, and its tags say which lists it serves.
    with timed("model_fitted", part="all interactions", rows=inputs.rows):
        model = fit_als(inputs.interactions, challenger.als)
    registered = tracking.log_and_register_model(
        model,
        settings,
        settings.project_root / ".spark" / "mlflow-tmp",
        example=inputs.sample,
        tags={
            tracking.DECISION_TAG: verdict.decision,
            tracking.NDCG_TAG: evaluation.model["ndcg_at_10"],
            tracking.FINGERPRINT_TAG: inputs.fingerprint,
            **challenger.as_version_tags(),
        },
    )
    emit(
        "model_registered",
        name=registered.name,
        version=registered.version,
        model_uri=registered.model_uri,
        candidate=challenger.label,
    )
    if verdict.promote:
        tracking.describe(
            settings,
            registered.version,
            f"Promoted to `{tracking.CHAMPION_ALIAS}` ({verdict.decision}, run {record.run_id}), "
            f"serving {challenger.label}: from then on its lists are the ones published in "
            "ml.user_recommendations, until a later version passes the gate. "
            f"{record.reason}",
        )
        tracking.promote(settings, registered.version)
        return Serving.of(challenger, model, registered.version)
    tracking.describe(
        settings,
        registered.version,
        f"Registered, not promoted ({verdict.decision}, run {record.run_id}), would serve "
        f"{challenger.label}: the gate refused it, `{tracking.CHAMPION_ALIAS}` stayed on "
        f"{f'v{champion.version}' if champion else 'no version (popularity lists served)'}. "
        f"{record.reason}",
    )
    if champion is not None:
        return Serving.of(champion.served, champion_model, champion.version)
    return Serving(None, POPULARITY_VERSION)


def _record_evaluation(record: TrainingRun, evaluation: Evaluation) -> None:
    record.ndcg_at_10 = evaluation.model["ndcg_at_10"]
    record.coverage = evaluation.model["coverage"]
    record.popularity_ndcg_at_10 = evaluation.popularity["ndcg_at_10"]
    if evaluation.champion is not None:
        record.champion_ndcg_at_10 = evaluation.champion["ndcg_at_10"]


def _kept_users(
    settings: Settings, jdbc: Jdbc, inputs: Inputs, serving: Serving, learnt_until: datetime | None
) -> DataFrame | None:
    """The users whose published list is kept today (reuse.py), cached; None when every
    user is scored."""
    with timed("lists_kept", model_version=serving.version) as fields:
        why_not = reuse.why_everyone_is_scored(
            serving.model is not None, learnt_until, settings.rescore_every_days
        )
        if why_not is not None:
            fields.update(users=0, reason=why_not)
            return None
        assert serving.model is not None and learnt_until is not None
        with data.connect(settings.warehouse) as conn:
            published = data.read_published_users(
                inputs.interactions.sparkSession, jdbc, conn, serving.version
            )
        known = inputs.user_indices.join(
            serving.model.userFactors.select(F.col("id").alias("idx")), "idx", "left_semi"
        ).select(F.col("id").alias("user_id"))
        kept = reuse.kept_users(
            published,
            known,
            inputs.users,
            inputs.interactions,
            learnt_until,
            settings.rescore_every_days,
            _now().date(),
        ).cache()
        fields.update(
            users=kept.count(),
            reason=f"no pair newer than v{serving.version}'s training data, not due in the "
            f"{settings.rescore_every_days}-day rotation",
        )
    return kept


def publish(
    settings: Settings, inputs: Inputs, serving: Serving, learnt_until: datetime | None = None
) -> ListCounts:
    """Score every user on the executors (but those whose list is kept, when the
    served model learnt until ``learnt_until``), write the lists into a staging table
    from the executors, copy the kept ones there in Postgres, then swap it in (one
    transaction)."""
    jdbc = Jdbc.of(settings.warehouse, settings.spark)
    published_at = _now()
    kept = _kept_users(settings, jdbc, inputs, serving, learnt_until)
    lists = build_lists(
        inputs.interactions,
        inputs.users,
        inputs.track_genres,
        inputs.track_indices,
        serving.model,
        settings.top_n,
        settings.candidate_pool,
        serving.popularity_half_life_days,
        kept,
    ).persist(StorageLevel.MEMORY_AND_DISK)
    rows = lists.select(
        "user_id",
        "rank",
        "track_id",
        "score",
        F.lit(serving.version).alias("model_version"),
        F.lit(published_at).alias("generated_at"),
    )
    with (
        data.connect(settings.warehouse) as conn,
        timed("recommendations_staged", table=data.staging_table(data.RECOMMENDATIONS_TABLE)),
    ):
        jdbc.append(rows, data.prepare_staging(conn, data.RECOMMENDATIONS_TABLE))
    counts = ListCounts.of(lists)
    if kept is not None:
        with data.connect(settings.warehouse) as conn, timed("kept_lists_copied") as fields:
            jdbc.append(kept, data.prepare_kept(conn))
            kept_users, kept_rows = data.copy_kept_lists(conn, published_at)
            fields.update(users=kept_users, rows=kept_rows)
        counts = counts.with_kept(kept_users, kept_rows)
        kept.unpersist()
    with data.connect(settings.warehouse) as conn, timed("recommendations_swapped"):
        data.swap_in_staged(conn, data.RECOMMENDATIONS_TABLE)
    lists.unpersist()
    return counts


def _run(settings: Settings, record: TrainingRun) -> None:
    # Cheap checks first: an unreachable warehouse fails in a second, before Spark starts.
    data.connect(settings.warehouse).close()
    experiment_id = tracking.configure(settings)
    with spark_session(settings) as spark:
        _run_with_spark(spark, settings, record, experiment_id)


def _run_with_spark(
    spark: SparkSession, settings: Settings, record: TrainingRun, experiment_id: str
) -> None:
    inputs = read_inputs(spark, settings)
    record.interactions_rows = inputs.rows
    record.data_fingerprint = inputs.fingerprint
    emit(
        "interactions_read",
        rows=inputs.rows,
        fingerprint=inputs.fingerprint,
        max_updated_at=inputs.version.max_updated_at,
        dbt_run_id=inputs.version.dbt_run_id,
    )

    champion = tracking.champion(settings)
    champion_learnt_until = (
        reuse.learnt_until_time(champion.data_max_updated_at) if champion else None
    )
    share = search.changed_share(inputs.interactions, inputs.rows, champion_learnt_until)
    logged_share = "unknown" if share is None else round(share, 4)
    retrain = policy.retrain_decision(
        champion,
        tracking.last_trained_fingerprint(experiment_id),
        inputs.fingerprint,
        settings.policy,
        share,
    )
    emit(
        "retrain_decision",
        train=retrain.train,
        forced=retrain.forced,
        reason=retrain.reason,
        champion_version=champion.version if champion else "none",
        changed_share=logged_share,
    )

    with tracking.mlflow.start_run(run_name=f"als-{_now():%Y%m%dT%H%M%SZ}") as mlflow_run:
        record.mlflow_run_id = mlflow_run.info.run_id
        tracking.log_params(
            {
                **settings.spark.as_mlflow_params(),
                **settings.search.as_mlflow_params(),
                "spark_version": spark.version,
                "spark_default_parallelism": spark.sparkContext.defaultParallelism,
                "spark_native_blas": loaded_native_blas(spark),
                "top_n": settings.top_n,
                "candidate_pool": settings.candidate_pool,
                "eval_k": settings.eval_k,
                "eval_max_users": settings.eval_max_users,
                "holdout_seed": settings.holdout_seed,
                "holdout_fraction": settings.holdout_fraction,
                "data_interactions_rows": inputs.rows,
                "data_max_updated_at": inputs.version.max_updated_at,
                "data_dbt_run_id": inputs.version.dbt_run_id,
                "data_fingerprint": inputs.fingerprint,
                "data_changed_share": logged_share,
            }
        )
        tracking.log_interactions(
            settings,
            inputs.interactions.schema,
            inputs.rows,
            inputs.fingerprint,
            {
                "max_updated_at": inputs.version.max_updated_at,
                "dbt_run_id": inputs.version.dbt_run_id,
            },
            # A skipped run trains nothing: the interactions are only scored.
            context="training" if retrain.train else "scoring",
        )
        if retrain.train:
            tracking.mlflow.set_tag(tracking.FINGERPRINT_TAG, inputs.fingerprint)
            serving = train_and_gate(
                settings, inputs, champion, retrain, share, champion_learnt_until, record
            )
        else:
            assert champion is not None  # retrain_decision trains when there is none
            record.decision, record.reason = policy.SKIPPED, retrain.reason
            record.champion_ndcg_at_10 = champion.ndcg_at_10
            serving = Serving.of(champion.served, _champion_model(settings), champion.version)
        tracking.mlflow.set_tags({"decision": record.decision, "reason": record.reason[:5000]})
        emit(
            "gate",
            decision=record.decision,
            reason=record.reason,
            level=logging.INFO if record.decision != policy.KEPT_CHAMPION else logging.WARNING,
        )

        # The champion still serves: the lists of users whose history it learnt whole
        # can be kept (reuse.py).
        learnt_until = (
            champion_learnt_until
            if champion is not None and serving.version == champion.version
            else None
        )
        counts = publish(settings, inputs, serving, learnt_until)
        record.model_version = serving.version
        record.users_scored = counts.users
        record.cold_start_users = counts.cold_start_users
        tracking.log_metrics(
            {
                "rows_written": counts.rows,
                "users_scored": counts.users,
                "cold_start_users": counts.cold_start_users,
                "fallback_users": counts.fallback_users,
                "users_kept": counts.kept_users,
            }
        )
        emit(
            "recommendations_written",
            table=data.RECOMMENDATIONS_TABLE,
            rows=counts.rows,
            users=counts.users,
            cold_start_users=counts.cold_start_users,
            fallback_users=counts.fallback_users,
            kept_users=counts.kept_users,
            model_version=serving.version,
        )


def run(settings: Settings) -> TrainingRun:
    """One run; its ml.training_runs row and the final ``event=run_complete`` line are written
    whatever happens (a failure is recorded, then re-raised for the CLI)."""
    record = TrainingRun(run_id=settings.run_id or uuid.uuid4().hex, started_at=_now())
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
        _write_training_run(settings, record)
        fields = {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in record.as_fields().items()
        }
        emit("run_complete", seconds=round(time.perf_counter() - started, 1), **fields)
    return record


def _write_training_run(settings: Settings, record: TrainingRun) -> None:
    try:
        with data.connect(settings.warehouse) as conn:
            training_runs.write(conn, record)
    except Exception as exc:  # the row must never hide the run's own outcome
        emit("training_run_not_written", level=logging.WARNING, reason=str(exc).splitlines()[0])
