"""Top-N recommendation lists. Evaluation and serving both go through ``top_n_unseen``
so the offline metrics measure exactly what users get."""

from __future__ import annotations

from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from .interactions import max_items_per_user


def als_candidates(model: ALSModel, users: DataFrame, n: int) -> DataFrame:
    """(user_id, track_id, score): ALS's n best-scored tracks for each given user."""
    recs = model.recommendForUserSubset(users.select("user_id").distinct(), n)
    return recs.select("user_id", F.explode("recommendations").alias("rec")).select(
        "user_id",
        F.col("rec.track_id").alias("track_id"),
        F.col("rec.rating").cast("double").alias("score"),
    )


def popularity_candidates(train: DataFrame, users: DataFrame, n: int) -> DataFrame:
    """(user_id, track_id, score): the n tracks with the most distinct listeners, for everyone."""
    top_tracks = (
        train.groupBy("track_id")
        .agg(F.countDistinct("user_id").cast("double").alias("score"))
        .orderBy(F.desc("score"), F.asc("track_id"))
        .limit(n)
    )
    return users.select("user_id").distinct().crossJoin(top_tracks)


def top_n_unseen(candidates: DataFrame, seen: DataFrame, n: int) -> DataFrame:
    """(user_id, rank, track_id, score): drop tracks the user already listened to, keep n.

    Ties in score are broken by track_id so the lists (and the table) are reproducible.
    """
    unseen = candidates.join(
        seen.select("user_id", "track_id").distinct(), ["user_id", "track_id"], "left_anti"
    )
    order = Window.partitionBy("user_id").orderBy(F.desc("score"), F.asc("track_id"))
    return (
        unseen.withColumn("rank", F.row_number().over(order))
        .where(F.col("rank") <= n)
        .select("user_id", "rank", "track_id", "score")
    )


def candidate_count(n: int, seen: DataFrame) -> int:
    """Ask for n + the longest history: even a user whose every listened track scores
    highest still keeps n unseen candidates after filtering."""
    return n + max_items_per_user(seen)


def recommend_als(model: ALSModel, seen: DataFrame, users: DataFrame, n: int) -> DataFrame:
    return top_n_unseen(als_candidates(model, users, candidate_count(n, seen)), seen, n)


def recommend_popular(train: DataFrame, users: DataFrame, n: int) -> DataFrame:
    return top_n_unseen(popularity_candidates(train, users, candidate_count(n, train)), train, n)
