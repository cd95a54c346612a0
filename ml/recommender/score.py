"""ALS top-N lists. Evaluation and serving both go through ``als_top_n`` so the offline
metrics measure exactly what users get: listened tracks removed, best n kept."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from .interactions import to_spark
from .popularity import Ranked


def als_candidates(model: ALSModel, users: DataFrame, n: int) -> DataFrame:
    """(user_idx, track_idx, score): ALS's n best-scored tracks for each given user the
    model knows (ALS silently drops users it was not trained on)."""
    recs = model.recommendForUserSubset(users.select("user_idx").distinct(), n)
    return recs.select("user_idx", F.explode("recommendations").alias("rec")).select(
        "user_idx",
        F.col("rec.track_idx").alias("track_idx"),
        F.col("rec.rating").cast("double").alias("score"),
    )


def top_n_unseen(candidates: DataFrame, seen: DataFrame, n: int) -> DataFrame:
    """(user_idx, rank, track_idx, score): drop tracks the user already listened to, keep n.

    Ties in score are broken by track_idx so the lists are reproducible.
    """
    unseen = candidates.join(
        seen.select("user_idx", "track_idx").distinct(), ["user_idx", "track_idx"], "left_anti"
    )
    order = Window.partitionBy("user_idx").orderBy(F.desc("score"), F.asc("track_idx"))
    return (
        unseen.withColumn("rank", F.row_number().over(order))
        .where(F.col("rank") <= n)
        .select("user_idx", "rank", "track_idx", "score")
    )


def als_top_n(
    spark: SparkSession,
    model: ALSModel,
    seen: pd.DataFrame,
    users: Iterable[int],
    n: int,
) -> dict[int, Ranked]:
    """user_idx -> n best unseen (track_idx, score) for each user the model knows.

    ALS is asked for n + the longest history candidates, so even a user whose every
    listened track scores highest keeps n unseen ones after filtering.
    """
    user_frame = spark.createDataFrame(pd.DataFrame({"user_idx": list(users)}, dtype="int32"))
    longest = int(seen.groupby("user_idx").size().max()) if len(seen) else 0
    seen_frame = to_spark(spark, seen)
    rows = (
        top_n_unseen(als_candidates(model, user_frame, n + longest), seen_frame, n)
        .toPandas()
        .sort_values(["user_idx", "rank"])
    )
    lists: dict[int, Ranked] = {}
    for user, track, score in zip(rows["user_idx"], rows["track_idx"], rows["score"], strict=True):
        lists.setdefault(int(user), []).append((int(track), float(score)))
    return lists
