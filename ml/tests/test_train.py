"""ALS on small planted data, on real local Spark: it beats popularity, the champion is
scored on the same hold-out, and metrics computed by the executors match metrics.py."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator

import pandas as pd
import pytest
from orchestrate.project import PROJECT_ROOT
from pyspark.sql import SparkSession

from recommender.candidates import ALS, Candidate
from recommender.interactions import per_user_split
from recommender.metrics import mean_ranking_metrics
from recommender.settings import AlsParams, SparkSettings
from recommender.spark import java_options, loaded_native_blas
from recommender.train import (
    HoldOut,
    NothingToHoldOut,
    evaluate,
    fit_als,
    ranking_metrics,
    training_frame,
)

from .synthetic import as_spark

FAST_ALS = AlsParams(rank=8, max_iter=5)
FAST = Candidate(ALS, FAST_ALS)
METRICS = {"precision_at_10", "recall_at_10", "map_at_10", "ndcg_at_10", "coverage"}


def test_als_beats_popularity_on_planted_tastes(spark: SparkSession, planted: pd.DataFrame) -> None:
    split = per_user_split(as_spark(spark, planted), fraction=0.2, seed=42)
    result = evaluate(split, FAST, k=10, pool_size=0)
    assert result.evaluated_users == planted["user_id"].nunique()
    assert result.test_rows == split.test.count()
    assert result.train_rows + result.test_rows == len(planted)
    for metrics in (result.model, result.popularity):
        assert set(metrics) == METRICS
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert result.champion is None
    # Users have a favourite genre: a working ALS finds it, "most popular overall" cannot.
    assert result.model["ndcg_at_10"] > 1.2 * result.popularity["ndcg_at_10"], result
    assert result.model["map_at_10"] > result.popularity["map_at_10"], result
    # Popularity shows everyone nearly the same 10 tracks; ALS spreads over the catalogue.
    assert result.model["coverage"] > result.popularity["coverage"], result


def test_champion_is_scored_on_the_same_hold_out(
    spark: SparkSession, planted: pd.DataFrame
) -> None:
    split = per_user_split(as_spark(spark, planted), fraction=0.2, seed=42)
    champion = fit_als(split.train, FAST_ALS)
    result = evaluate(split, FAST, k=10, pool_size=0, champion=(FAST, champion))
    assert result.champion is not None
    # Same data, same seed, same parameters: the same model, the same score.
    assert result.champion["ndcg_at_10"] == pytest.approx(result.model["ndcg_at_10"])


def test_executor_metrics_are_the_metrics_module_averaged(spark: SparkSession) -> None:
    # User 1: hits at ranks 1 and 3; user 2: no hit; user 3: held-out items but no list
    # at all (counts as all misses, never skipped).
    lists = spark.createDataFrame(
        [(1, 1, 10), (1, 2, 11), (1, 3, 12), (2, 1, 10), (2, 2, 13)],
        "user_key long, rank int, track_idx int",
    )
    relevant = spark.createDataFrame(
        [(1, 10), (1, 12), (1, 99), (2, 20), (3, 30)], "user_key long, track_idx int"
    )
    got = ranking_metrics(lists, relevant, k=3, catalogue_size=8)
    expected = mean_ranking_metrics(
        {1: [10, 11, 12], 2: [10, 13]}, {1: {10, 12, 99}, 2: {20}, 3: {30}}, k=3
    )
    assert got == pytest.approx({**expected, "coverage": 4 / 8})


def test_evaluation_needs_a_user_with_two_tracks(spark: SparkSession) -> None:
    single = pd.DataFrame(
        {
            "user_id": [1, 2],
            "track_id": [10, 11],
            "weight": [1.0, 3.0],
            "seen_at": pd.NaT,
            "user_idx": [0, 1],
            "track_idx": [0, 1],
        }
    )
    with pytest.raises(NothingToHoldOut):
        evaluate(per_user_split(as_spark(spark, single), 0.2, 42), FAST, k=10, pool_size=0)


def test_training_frame_is_cached_on_the_executors(
    spark: SparkSession, planted: pd.DataFrame
) -> None:
    # ALS reads its input in several stages: each must read the cache, not re-run the
    # query (a JDBC read, a split) behind the frame.
    frame = training_frame(as_spark(spark, planted))
    frame.count()
    plan = frame._jdf.queryExecution().executedPlan().toString()
    assert "InMemoryTableScan" in plan, plan
    assert frame.storageLevel.useMemory and frame.storageLevel.useDisk
    frame.unpersist()


def test_spark_uses_java_blas_unless_native_is_asked_for(spark: SparkSession) -> None:
    # The session of the tests is built with the defaults; where libblas.so.3 exists
    # (OpenBLAS here), allowing native BLAS would report "JNIBLAS".
    assert loaded_native_blas(spark) == "none"


def test_java_options_reach_the_driver_and_the_executors() -> None:
    driver, executors = java_options(SparkSettings(java_options="-XX:+UseSerialGC"))
    for options in (driver, executors):
        assert "-XX:+UseSerialGC" in options and "blas.allowNative=false" in options
    assert "log4j2.configurationFile" in driver and "log4j2" not in executors
    assert java_options(SparkSettings(native_blas=True))[1] == ""


def test_the_session_jvm_runs_with_its_java_options(spark: SparkSession) -> None:
    runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    arguments = list(runtime.getInputArguments())
    expected = java_options(SparkSettings.from_env(PROJECT_ROOT))[0].split()
    assert expected and set(expected) <= set(arguments)


def test_the_python_workers_leave_pysparks_resource_warnings_out(spark: SparkSession) -> None:
    """Whatever PYTHONWARNINGS the job gets (Meltano sets ``once``), the workers' own
    option, last, ignores ResourceWarning; other warnings still show."""

    def warn_in_a_worker(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for _ in batches:
            with warnings.catch_warnings(record=True) as caught:
                warnings.warn("unclosed file", ResourceWarning, stacklevel=1)
                warnings.warn("anything else", UserWarning, stacklevel=1)
            yield pd.DataFrame(
                {
                    "options": [" ".join(sys.warnoptions)],
                    "shown": [" ".join(w.category.__name__ for w in caught)],
                }
            )

    row = spark.range(1).mapInPandas(warn_in_a_worker, "options string, shown string").first()
    assert row["options"].split()[-1:] == ["ignore::ResourceWarning"]
    assert row["shown"] == "UserWarning"


def test_a_large_hold_out_is_judged_on_a_stable_sample_of_its_users(
    spark: SparkSession, planted: pd.DataFrame
) -> None:
    split = per_user_split(as_spark(spark, planted), fraction=0.2, seed=42)
    everyone = HoldOut.of(split, k=10)
    sample = HoldOut.of(split, k=10, max_users=20)
    again = HoldOut.of(split, k=10, max_users=20)

    def users(hold_out: HoldOut) -> set[int]:
        return {r["user_idx"] for r in hold_out.evaluated.select("user_idx").collect()}

    assert len(users(everyone)) == planted["user_id"].nunique() == 60
    assert 10 <= len(users(sample)) <= 30 and users(sample) < users(everyone)
    assert users(sample) == users(again)
    assert HoldOut.of(split, k=10, max_users=100).evaluated.count() == 60
