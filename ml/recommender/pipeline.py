"""The daily run: read ► evaluate ► fit on everything ► register ► score ► write."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from . import data, tracking
from .events import emit
from .interactions import listens_frame, to_interactions
from .score import recommend_als
from .settings import Settings
from .spark import build_spark, require_java
from .train import NothingToHoldOut, evaluate, fit_als


@dataclass(frozen=True)
class RunSummary:
    listens_rows: int
    interactions: int
    users: int
    tracks: int
    metrics: dict[str, float]
    model_version: str
    rows_written: int
    users_short: int
    duration_s: float


class _Stopwatch:
    def __init__(self) -> None:
        self.durations: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.durations[f"{name}_s"] = round(time.perf_counter() - start, 3)


@contextmanager
def _spark_session(settings: Settings) -> Iterator[SparkSession]:
    # Stop the session only if this run created it: a caller (a notebook, the test
    # suite) that already has one keeps it.
    existing = SparkSession.getActiveSession()
    spark = build_spark(
        settings.spark_master, settings.checkpoint_dir, settings.spark_shuffle_partitions
    )
    try:
        yield spark
    finally:
        if existing is None:
            spark.stop()


def run(settings: Settings) -> RunSummary:
    started = time.perf_counter()
    clock = _Stopwatch()
    # Cheap checks first, so a missing JVM or an unreachable database fails in a
    # second instead of after the ~12 s Spark start-up.
    require_java()
    with clock.step("read"), data.connect(settings.warehouse) as conn:
        listens_pdf = data.read_listens(conn)
    emit(
        "listens_read",
        rows=len(listens_pdf),
        source=data.LISTENS_TABLE,
        warehouse=settings.warehouse.address,
        seconds=clock.durations["read_s"],
    )

    spark_requested = time.perf_counter()
    with _spark_session(settings) as spark:
        clock.durations["spark_start_s"] = round(time.perf_counter() - spark_requested, 3)
        emit(
            "spark_started",
            master=settings.spark_master,
            version=spark.version,
            seconds=clock.durations["spark_start_s"],
        )
        interactions = to_interactions(listens_frame(spark, listens_pdf)).cache()
        counts = interactions.agg(
            F.count(F.lit(1)).alias("interactions"),
            F.countDistinct("user_id").alias("users"),
            F.countDistinct("track_id").alias("tracks"),
        ).first()
        assert counts is not None
        n_interactions, n_users, n_tracks = (
            int(counts["interactions"]),
            int(counts["users"]),
            int(counts["tracks"]),
        )
        emit("interactions_built", interactions=n_interactions, users=n_users, tracks=n_tracks)

        experiment_id = tracking.configure(settings)
        run_name = f"als-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
        with tracking.mlflow.start_run(run_name=run_name) as mlflow_run:
            emit(
                "mlflow_run_started",
                run_id=mlflow_run.info.run_id,
                experiment_id=experiment_id,
                tracking_uri=settings.mlflow_tracking_uri,
            )
            tracking.log_params(
                {
                    **settings.als.as_mlflow_params(),
                    "spark_master": settings.spark_master,
                    "spark_version": spark.version,
                    "top_n": settings.top_n,
                    "eval_k": settings.eval_k,
                    "holdout_seed": settings.holdout_seed,
                    "listens_rows": len(listens_pdf),
                    "interactions": n_interactions,
                    "users": n_users,
                    "tracks": n_tracks,
                }
            )

            metrics: dict[str, float] = {}
            try:
                with clock.step("evaluate"):
                    evaluation = evaluate(
                        interactions, settings.als, settings.eval_k, settings.holdout_seed
                    )
            except NothingToHoldOut as exc:
                # Still serve: yesterday's table would be staler than an unevaluated model.
                emit("evaluation_skipped", level=logging.WARNING, reason=str(exc))
            else:
                metrics = evaluation.as_mlflow_metrics()
                tracking.log_params(
                    {
                        "train_rows": evaluation.train_rows,
                        "test_rows": evaluation.test_rows,
                        "evaluated_users": evaluation.evaluated_users,
                    }
                )
                tracking.log_metrics(metrics)
                emit(
                    "evaluated",
                    train_rows=evaluation.train_rows,
                    test_rows=evaluation.test_rows,
                    evaluated_users=evaluation.evaluated_users,
                    seconds=clock.durations["evaluate_s"],
                    **metrics,
                )

            # The served model learns from every interaction, including the held-out ones.
            with clock.step("fit"):
                model = fit_als(interactions, settings.als)
            emit("model_fitted", seconds=clock.durations["fit_s"])

            with clock.step("register"):
                registered = tracking.log_and_register_model(
                    model, settings, settings.project_root / ".spark" / "mlflow-tmp"
                )
            emit(
                "model_registered",
                name=registered.name,
                version=registered.version,
                model_uri=registered.model_uri,
                seconds=clock.durations["register_s"],
            )

            with clock.step("score"):
                users = interactions.select("user_id").distinct()
                recommendations = recommend_als(model, interactions, users, settings.top_n)
                rows = [
                    (int(r["user_id"]), int(r["rank"]), int(r["track_id"]), float(r["score"]))
                    for r in recommendations.orderBy("user_id", "rank").collect()
                ]
            per_user: dict[int, int] = {}
            for user_id, *_ in rows:
                per_user[user_id] = per_user.get(user_id, 0) + 1
            users_short = n_users - sum(1 for c in per_user.values() if c == settings.top_n)
            emit(
                "scored",
                users=len(per_user),
                rows=len(rows),
                top_n=settings.top_n,
                users_short=users_short,
                seconds=clock.durations["score_s"],
                level=logging.WARNING if users_short else logging.INFO,
            )

            with clock.step("write"), data.connect(settings.warehouse) as conn:
                written = data.replace_recommendations(
                    conn, rows, registered.version, datetime.now(timezone.utc)
                )
            emit(
                "recommendations_written",
                table="ml.user_recommendations",
                rows=written,
                model_version=registered.version,
                seconds=clock.durations["write_s"],
            )

            total = round(time.perf_counter() - started, 3)
            tracking.log_metrics(
                {
                    "rows_written": written,
                    "users_short": users_short,
                    **clock.durations,
                    "total_s": total,
                }
            )
        interactions.unpersist()

    emit(
        "run_finished",
        model_version=registered.version,
        rows_written=written,
        total_seconds=total,
        **{k: v for k, v in clock.durations.items()},
    )
    return RunSummary(
        listens_rows=len(listens_pdf),
        interactions=n_interactions,
        users=n_users,
        tracks=n_tracks,
        metrics=metrics,
        model_version=registered.version,
        rows_written=written,
        users_short=users_short,
        duration_s=total,
    )
