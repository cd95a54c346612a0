"""Top-N scoring on the executors: the same lists as ALS's own recommendations once the
listened tracks are removed, never a listened track, complete and ordered lists."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from recommender.popularity import Popularity, listeners, popularity_of
from recommender.score import COLD_START, FALLBACK, MODEL, Candidates, seen_lists, top_n_lists
from recommender.score import user_factors as factors_of
from recommender.settings import AlsParams
from recommender.train import candidate_pool, fit_als

from .synthetic import as_spark

FAST_ALS = AlsParams(rank=8, max_iter=5)


def _lists(frame: DataFrame) -> dict[int, list[tuple[int, float]]]:
    lists: dict[int, list[tuple[int, float]]] = {}
    for row in frame.orderBy("user_key", "rank").collect():
        lists.setdefault(row["user_key"], []).append((row["track_idx"], row["score"]))
    return lists


def _reference_lists(
    model,
    interactions: DataFrame,
    n: int,
) -> dict[int, list[int]]:
    """How the lists were made before scoring moved to the workers: ALS's own top
    n + longest-history candidates, listened tracks removed, n kept."""
    longest = interactions.groupBy("user_idx").count().agg(F.max("count")).first()[0]
    candidates = model.recommendForUserSubset(
        interactions.select("user_idx").distinct(), n + longest
    )
    exploded = candidates.select("user_idx", F.explode("recommendations").alias("r")).select(
        "user_idx", F.col("r.track_idx").alias("track_idx"), F.col("r.rating").alias("score")
    )
    unseen = exploded.join(
        interactions.select("user_idx", "track_idx"), ["user_idx", "track_idx"], "left_anti"
    )
    order = Window.partitionBy("user_idx").orderBy(F.desc("score"), F.asc("track_idx"))
    ranked = unseen.withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= n)
    lists: dict[int, list[int]] = {}
    for row in ranked.orderBy("user_idx", "rank").collect():
        lists.setdefault(row["user_idx"], []).append(row["track_idx"])
    return lists


@pytest.fixture(scope="module")
def fitted(spark: SparkSession, planted: pd.DataFrame):
    frame = as_spark(spark, planted).cache()
    return frame, fit_als(frame, FAST_ALS)


def test_lists_are_als_own_recommendations_without_listened_tracks(
    spark: SparkSession, planted: pd.DataFrame, fitted
) -> None:
    frame, model = fitted
    users = seen_lists(frame).join(factors_of(model), "user_idx", "left")
    got = _lists(
        top_n_lists(
            users.withColumnRenamed("user_idx", "user_key"),
            10,
            popularity_of(frame, 10),
            Candidates.of(model),
        )
    )
    expected = _reference_lists(model, frame, 10)
    assert {user: [t for t, _ in ranked] for user, ranked in got.items()} == expected
    history = planted.groupby("user_idx")["track_idx"].apply(set).to_dict()
    assert set(got) == set(history)
    for user, ranked in got.items():
        tracks = [t for t, _ in ranked]
        assert len(tracks) == len(set(tracks)) == 10
        assert not set(tracks) & history[user], f"user {user}: recommended a listened track"
        assert all(a >= b for (_, a), (_, b) in pairwise(ranked))


def test_a_candidate_pool_limits_the_model_to_the_most_listened_tracks(
    spark: SparkSession, planted: pd.DataFrame, fitted
) -> None:
    frame, model = fitted
    pool_tracks = {r["track_idx"] for r in candidate_pool(listeners(frame), 30).collect()}
    assert len(pool_tracks) == 30 < planted["track_idx"].nunique()
    users = seen_lists(frame).join(factors_of(model), "user_idx", "left")
    lists = top_n_lists(
        users.withColumnRenamed("user_idx", "user_key"),
        10,
        popularity_of(frame, 10),
        Candidates.of(model, candidate_pool(listeners(frame), 30)),
    ).collect()
    # Every user heard 6 tracks at most: 24+ unheard candidates fill each list.
    assert {r["source"] for r in lists} == {MODEL} and len(lists) == 10 * len(
        planted.groupby("user_idx")
    )
    assert {r["track_idx"] for r in lists} <= pool_tracks


def test_hand_made_factors_give_the_best_unheard_tracks_then_popular_ones(
    spark: SparkSession,
) -> None:
    # Three candidate tracks with one-dimensional factors: scores are 3, 2, 1 for a user
    # whose factor is 1.
    candidates = Candidates(
        tracks=np.array([7, 8, 9]),
        factors=np.array([[3.0], [2.0], [1.0]], dtype=np.float32),
        column_of=np.array([-1] * 7 + [0, 1, 2]),
    )
    popularity = Popularity(overall=[(1, 40.0), (7, 30.0), (2, 20.0), (3, 10.0)])
    users = spark.createDataFrame(
        [(100, [1.0], [7]), (101, None, [1, 2]), (102, None, None)],
        "user_key long, features array<float>, seen array<int>",
    )
    lists = top_n_lists(
        users.withColumn("genre", F.lit(None).cast("string")), 3, popularity, candidates
    )
    rows = {
        r["user_key"]: r
        for r in lists.groupBy("user_key")
        .agg(
            F.transform(
                F.array_sort(F.collect_list(F.struct("rank", "track_idx"))),
                lambda x: x["track_idx"],
            ).alias("tracks"),
            F.first("source").alias("source"),
        )
        .collect()
    }
    # Model: 8 then 9 (7 was heard), completed with the most popular unheard track (1).
    assert rows[100]["tracks"] == [8, 9, 1] and rows[100]["source"] == MODEL
    assert rows[101]["tracks"] == [7, 3] and rows[101]["source"] == FALLBACK
    assert rows[102]["tracks"] == [1, 7, 2] and rows[102]["source"] == COLD_START
