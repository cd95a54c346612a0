"""Dense integer indices for user and track ids, stable from one day to the next.

ALS indexes users and items as 32-bit ints, so raw ids (bigint, sparse, possibly > 2^31)
are mapped to 0..n-1. The mapping only ever grows: an id keeps its index forever, new
ids get the next free ones. That is what lets yesterday's champion model be scored on
today's data (same index, same user). The warehouse keeps the mapping in ml.user_index /
ml.track_index (see data.py); the offline CSV evaluation starts from an empty one.
Everything here is Spark: the ids never pass through the driver.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, LongType, StructField, StructType

# A mapping of at most this many ids is broadcast to the joins that use it: each executor
# maps its own partitions of the interactions where they are, instead of shuffling and
# sorting tens of millions of them by id. A million ids hash into about 24 MB per
# executor; beyond this, Spark sorts and merges as for any large join.
BROADCAST_MAX_IDS = 5_000_000

MAPPING_SCHEMA = StructType(
    [
        StructField("id", LongType(), nullable=False),
        StructField("idx", IntegerType(), nullable=False),
    ]
)


def empty_mapping(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame([], MAPPING_SCHEMA)


def new_entries(existing: DataFrame, ids: DataFrame) -> DataFrame:
    """(id, idx) to add to ``existing`` so every id of ``ids`` (one column) has one.

    New ids are numbered in ascending id order from max(existing) + 1, so the result does
    not depend on the order the rows arrived in. Numbering is distributed and stays in
    the JVM: the sorted ids keep their range partitions (materialised once, so both
    passes below see the same ones), each partition is counted, and an id's index is
    its partition's offset plus its place in the partition."""
    highest = existing.agg(F.max("idx")).first()[0]
    start = 0 if highest is None else int(highest) + 1
    unknown = (
        ids.select(F.col(ids.columns[0]).cast("long").alias("id"))
        .where(F.col("id").isNotNull())
        .distinct()
        .join(existing.select("id"), "id", "left_anti")
        .orderBy("id")
        .select(
            "id",
            F.spark_partition_id().alias("part"),
            # Consecutive within a partition, from the partition's index shifted by 33 bits.
            (
                F.monotonically_increasing_id()
                - F.shiftleft(F.spark_partition_id().cast("long"), 33)
            ).alias("place"),
        )
        .localCheckpoint()
    )
    offsets, offset = {}, start
    for row in unknown.groupBy("part").count().orderBy("part").collect():
        offsets[row["part"]] = offset
        offset += row["count"]
    if not offsets:
        return empty_mapping(existing.sparkSession)
    offset_of = F.create_map(*(F.lit(value) for pair in offsets.items() for value in pair))
    return unknown.select(
        "id", (offset_of[F.col("part")] + F.col("place")).cast("int").alias("idx")
    )


def cached_for_joins(mapping: DataFrame) -> tuple[DataFrame, int]:
    """``mapping`` cached and counted (how many ids), hinted for broadcast when it has at
    most BROADCAST_MAX_IDS ids: Spark cannot size a JDBC read or a cached frame by itself,
    so every join with the mapping (apply_mapping, naming the listed tracks) would shuffle
    both sides."""
    cached = mapping.cache()
    ids = cached.count()
    return (F.broadcast(cached) if ids <= BROADCAST_MAX_IDS else cached), ids


def apply_mapping(interactions: DataFrame, users: DataFrame, tracks: DataFrame) -> DataFrame:
    """Add ``user_idx`` / ``track_idx`` (int, what ALS takes) to the interactions; every
    id must already have an index (extend the mappings first)."""
    return interactions.join(
        users.select(F.col("id").alias("user_id"), F.col("idx").alias("user_idx")), "user_id"
    ).join(
        tracks.select(F.col("id").alias("track_id"), F.col("idx").alias("track_idx")), "track_id"
    )
