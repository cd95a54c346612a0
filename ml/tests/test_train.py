"""ALS on small planted data, on real local Spark: it beats popularity, lists exclude
history and are complete."""

from __future__ import annotations

from itertools import pairwise

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from recommender.interactions import per_user_split
from recommender.score import als_top_n
from recommender.settings import AlsParams
from recommender.spark import loaded_native_blas
from recommender.train import NothingToHoldOut, evaluate, fit_als, training_frame

FAST_ALS = AlsParams(rank=8, max_iter=5)
METRICS = {"precision_at_10", "recall_at_10", "map_at_10", "ndcg_at_10", "coverage"}


def test_als_beats_popularity_on_planted_tastes(spark: SparkSession, planted: pd.DataFrame) -> None:
    split = per_user_split(planted, fraction=0.2, seed=42)
    result = evaluate(spark, split, FAST_ALS, k=10)
    assert result.evaluated_users == planted["user_id"].nunique()
    assert result.test_rows == len(split.test) and result.train_rows + result.test_rows == len(
        planted
    )
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
    split = per_user_split(planted, fraction=0.2, seed=42)
    champion = fit_als(spark, split.train, FAST_ALS)
    result = evaluate(spark, split, FAST_ALS, k=10, champion=champion)
    assert result.champion is not None
    # Same data, same seed, same parameters: the same model, the same score.
    assert result.champion["ndcg_at_10"] == pytest.approx(result.model["ndcg_at_10"])


def test_als_lists_exclude_history_and_fill_top_10(
    spark: SparkSession, planted: pd.DataFrame
) -> None:
    model = fit_als(spark, planted, FAST_ALS)
    users = sorted(planted["user_idx"].unique())
    lists = als_top_n(spark, model, planted, users, 10)
    history = planted.groupby("user_idx")["track_idx"].apply(set).to_dict()
    assert set(lists) == set(users)
    for user, ranked in lists.items():
        tracks = [t for t, _ in ranked]
        assert len(tracks) == len(set(tracks)) == 10
        assert not set(tracks) & history[user], f"user {user}: recommended a listened track"
        assert all(a >= b for (_, a), (_, b) in pairwise(ranked))


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
        evaluate(spark, per_user_split(single, 0.2, 42), FAST_ALS, k=10)


def test_training_frame_is_cut_from_the_driver_side_rows(
    spark: SparkSession, planted: pd.DataFrame
) -> None:
    # A plan still reading the pandas rows (LocalTableScan) would ship them in every task.
    frame = training_frame(spark, planted)
    plan = frame._jdf.queryExecution().executedPlan().toString()
    assert "LocalTableScan" not in plan and "ExistingRDD" in plan, plan
    assert frame.count() == len(planted)


def test_spark_uses_java_blas_unless_native_is_asked_for(spark: SparkSession) -> None:
    # The session of the tests is built with the defaults; where libblas.so.3 exists
    # (OpenBLAS here), allowing native BLAS would report "JNIBLAS".
    assert loaded_native_blas(spark) == "none"
