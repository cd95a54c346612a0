"""From listen-history rows to the implicit-feedback matrix ALS trains on."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StructField, StructType

LISTENS_SCHEMA = StructType(
    [
        StructField("user_id", LongType(), nullable=False),
        StructField("track_id", LongType(), nullable=False),
    ]
)


def listens_frame(spark: SparkSession, listens: pd.DataFrame) -> DataFrame:
    """The (user_id, track_id) rows read from marts.fct_listens as a Spark DataFrame."""
    return spark.createDataFrame(listens[["user_id", "track_id"]], schema=LISTENS_SCHEMA)


def to_interactions(listens: DataFrame) -> DataFrame:
    """One row per (user, track) with ``weight`` = how many times the pair appears.

    The ids are cast to int because ALS indexes users and items as 32-bit ints
    (``data.read_listens`` has already rejected ids that would not fit).
    """
    return listens.groupBy(
        F.col("user_id").cast("int").alias("user_id"),
        F.col("track_id").cast("int").alias("track_id"),
    ).agg(F.count(F.lit(1)).cast("float").alias("weight"))


def holdout_split(interactions: DataFrame, seed: int) -> tuple[DataFrame, DataFrame]:
    """Hold out one (user, track) pair per user who has at least two, for evaluation.

    The pick is a hash of (user, track, seed), not ``rand()``: rand() depends on how
    rows are partitioned, so the same seed could give a different split on another
    machine or Spark version. A hash gives the same split for the same data anywhere.
    Users with a single item stay entirely in training (holding it out would leave
    nothing to learn them from).
    """
    by_user = Window.partitionBy("user_id")
    pick_order = by_user.orderBy(
        F.xxhash64(F.col("user_id"), F.col("track_id"), F.lit(seed)), F.col("track_id")
    )
    flagged = (
        interactions.withColumn("_pick", F.row_number().over(pick_order))
        .withColumn("_items", F.count(F.lit(1)).over(by_user))
        .withColumn("_held_out", (F.col("_pick") == 1) & (F.col("_items") >= 2))
    )
    columns = interactions.columns
    train = flagged.where(~F.col("_held_out")).select(*columns)
    test = flagged.where(F.col("_held_out")).select(*columns)
    return train, test


def max_items_per_user(interactions: DataFrame) -> int:
    row = interactions.groupBy("user_id").count().agg(F.max("count").alias("m")).first()
    return int(row["m"] or 0) if row is not None else 0
