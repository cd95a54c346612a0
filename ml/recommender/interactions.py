"""The implicit-feedback matrix and the evaluation split that mirrors production.

Frames here are Spark DataFrames with columns user_id, track_id (warehouse ids), weight
(listen count), seen_at (when the pair first appeared, null when unknown) and user_idx,
track_idx (dense indices, idmap.py). Nothing is collected: only single numbers (a
cut-off time, a digest) come back to the driver.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Split:
    train: DataFrame
    test: DataFrame
    # "time": the newest interactions are held out (what production faces: predict what
    # comes next); "per_user": a hashed share of each user's items, when time is unusable.
    method: str


def fingerprint(interactions: DataFrame) -> str:
    """A digest of the (user, track, weight) content, whatever the row order or the
    partitioning: equal digests mean the model would learn from exactly the same data.
    Two independent 64-bit row hashes are summed exactly (as decimals) by the executors."""
    row = [F.col("user_id"), F.col("track_id"), F.col("weight")]
    count, first, second = interactions.agg(
        F.count(F.lit(1)),
        F.sum(F.xxhash64(*row).cast("decimal(38,0)")),
        F.sum(F.xxhash64(F.lit("second"), *row).cast("decimal(38,0)")),
    ).first()
    return hashlib.sha256(f"{count}:{first}:{second}".encode()).hexdigest()[:16]


def _mix(user: np.ndarray, track: np.ndarray, seed: int) -> np.ndarray:
    """A splitmix64-style hash of (user, track, seed): the same split for the same data
    on any machine, unlike a random draw that depends on row order."""
    with np.errstate(over="ignore"):
        x = user.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= track.astype(np.uint64) + np.uint64(seed & 0xFFFFFFFF)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _split_order(seed: int):
    @F.pandas_udf("long")  # type: ignore[call-overload]
    def order(user: pd.Series, track: pd.Series) -> pd.Series:
        # Spark has no unsigned type: dropping the lowest bit keeps the unsigned order.
        mixed = _mix(user.to_numpy(), track.to_numpy(), seed) >> np.uint64(1)
        return pd.Series(mixed.astype(np.int64))

    return order


def per_user_split(interactions: DataFrame, fraction: float, seed: int) -> Split:
    """Hold out max(1, floor(n * fraction)) hashed items of every user with n >= 2 items;
    a single-item user stays in training (nothing would be left to learn them from)."""
    by_user = Window.partitionBy("user_id")
    ranked = (
        interactions.withColumn("_order", _split_order(seed)("user_id", "track_id"))
        .withColumn("_position", F.row_number().over(by_user.orderBy("_order")) - 1)
        .withColumn("_items", F.count(F.lit(1)).over(by_user))
        .withColumn(
            "_held",
            (F.col("_items") >= 2)
            & (F.col("_position") < F.greatest(F.lit(1), F.floor(F.col("_items") * fraction))),
        )
        .drop("_order", "_position", "_items")
        # Computed once: training, seen lists and the hold-out all read it.
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    return Split(
        train=ranked.where(~F.col("_held")).drop("_held"),
        test=ranked.where(F.col("_held")).drop("_held"),
        method="per_user",
    )


def _time_cutoff(interactions: DataFrame, fraction: float, learnt_until: datetime | None):
    """The latest distinct ``seen_at`` that still leaves at least ``fraction`` of the rows
    after it (else the second latest), but never before the latest one up to
    ``learnt_until`` when a later one exists; None when there are fewer than two distinct
    times or a time is missing. Only the distinct times are ordered, never the rows."""
    times = interactions.groupBy("seen_at").agg(F.count(F.lit(1)).alias("rows"))
    learnt = F.col("seen_at") <= F.lit(learnt_until) if learnt_until else F.lit(False)
    total, distinct, missing, newest, newest_learnt = times.agg(
        F.sum("rows"),
        F.count("seen_at"),
        F.max(F.col("seen_at").isNull()),
        F.max("seen_at"),
        F.max(F.when(learnt, F.col("seen_at"))),
    ).first()
    if missing or distinct < 2:
        return None
    newest_first = Window.orderBy(F.desc("seen_at")).rowsBetween(
        Window.unboundedPreceding, Window.currentRow
    )
    after = times.withColumn("after", F.sum("rows").over(newest_first) - F.col("rows"))
    eligible = after.where((F.col("seen_at") < newest) & (F.col("after") >= fraction * total))
    cutoff = eligible.agg(F.max("seen_at")).first()[0]
    if cutoff is None:
        cutoff = times.where(F.col("seen_at") < newest).agg(F.max("seen_at")).first()[0]
    if newest_learnt is not None and newest_learnt < newest:
        return max(cutoff, newest_learnt)
    return cutoff


def time_split(
    interactions: DataFrame, fraction: float, learnt_until: datetime | None = None
) -> Split | None:
    """Hold out the interactions that appeared after a cut-off, for users known before it
    (the warehouse's times are load times, so there are few distinct values). None when
    there is no usable time or nobody known before the cut-off has anything after it.

    ``learnt_until``: the newest time the champion judged beside the new model learnt.
    The cut-off is then not before it (when anything is newer), so the hold-out holds no
    pair the champion learnt: one would flatter it at the gate, the new model having
    never seen it. The hold-out is then smaller than ``fraction`` of the rows."""
    cutoff = _time_cutoff(interactions, fraction, learnt_until)
    if cutoff is None:
        return None
    train = interactions.where(F.col("seen_at") <= F.lit(cutoff))
    test = interactions.where(F.col("seen_at") > F.lit(cutoff)).join(
        train.select("user_id").distinct(), "user_id", "left_semi"
    )
    if test.isEmpty():
        return None
    return Split(train=train, test=test, method="time")


def user_sample(interactions: DataFrame, max_users: int) -> DataFrame:
    """The rows of a hashed sample of about ``max_users`` users (all of them when there
    are no more, or ``max_users`` is 0): the same users every day the users are the same,
    whatever the partitioning."""
    if max_users <= 0:
        return interactions
    users = interactions.select("user_idx").distinct().count()
    if users <= max_users:
        return interactions
    buckets = 1_000_000
    kept = buckets * max_users // users
    return interactions.where(F.abs(F.xxhash64("user_idx")) % buckets < kept)


def split_for_evaluation(
    interactions: DataFrame, fraction: float, seed: int, learnt_until: datetime | None = None
) -> Split:
    """The hold-out: by time when the times allow it (see time_split for
    ``learnt_until``), else a per-user share."""
    return time_split(interactions, fraction, learnt_until) or per_user_split(
        interactions, fraction, seed
    )


def validation_split(train: DataFrame, method: str, fraction: float, seed: int) -> Split:
    """A split of a training part (``train``, often a sample of its users) by the
    hold-out's ``method``: what the search and the choice between candidates are judged
    on, so the hold-out stays unseen until the gate."""
    if method == "time":
        return time_split(train, fraction) or per_user_split(train, fraction, seed)
    return per_user_split(train, fraction, seed)
