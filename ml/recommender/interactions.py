"""The implicit-feedback matrix: one row per (user, track) with a listen weight, and the
evaluation split that mirrors production.

Frames here are pandas, with columns user_id, track_id (warehouse ids), weight (listen
count), seen_at (when the pair first appeared, NaT when unknown) and user_idx, track_idx
(dense indices, idmap.py): a few million rows fit in the driver, and the split, the
popularity lists and the fingerprint are simpler and faster without Spark. Only the ALS
fit and its top-N scoring go to Spark (``to_spark``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

SPARK_SCHEMA = StructType(
    [
        StructField("user_idx", IntegerType(), nullable=False),
        StructField("track_idx", IntegerType(), nullable=False),
        StructField("weight", FloatType(), nullable=False),
    ]
)


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    # "time": the newest interactions are held out (what production faces: predict what
    # comes next); "per_user": a hashed share of each user's items, when time is unusable.
    method: str


def fingerprint(interactions: pd.DataFrame) -> str:
    """A digest of the (user, track, weight) content, whatever the row order: equal
    digests mean the model would learn from exactly the same data."""
    ordered = interactions.sort_values(["user_id", "track_id"])[["user_id", "track_id", "weight"]]
    hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


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


def per_user_split(interactions: pd.DataFrame, fraction: float, seed: int) -> Split:
    """Hold out max(1, floor(n * fraction)) hashed items of every user with n >= 2 items;
    a single-item user stays in training (nothing would be left to learn them from)."""
    order = _mix(interactions["user_id"].to_numpy(), interactions["track_id"].to_numpy(), seed)
    ranked = interactions.assign(_order=order)
    position = ranked.groupby("user_id")["_order"].rank(method="first") - 1
    items = ranked.groupby("user_id")["track_id"].transform("size")
    quota = np.maximum(1, np.floor(items * fraction))
    held = (items >= 2) & (position < quota)
    return Split(
        train=interactions[~held.to_numpy()], test=interactions[held.to_numpy()], method="per_user"
    )


def time_split(interactions: pd.DataFrame, fraction: float) -> Split | None:
    """Hold out the interactions that appeared after a cut-off, for users known before it.

    The cut-off is the latest distinct ``seen_at`` that still leaves at least
    ``fraction`` of the rows after it (the warehouse's times are load times, so there
    are few distinct values). None when the data has fewer than two distinct times or
    nobody known before the cut-off has anything after it.
    """
    seen = interactions["seen_at"]
    if seen.isna().any():
        return None
    times = np.sort(seen.unique())
    if len(times) < 2:
        return None
    share_after = np.array([(seen > t).mean() for t in times[:-1]])
    eligible = np.flatnonzero(share_after >= fraction)
    cutoff = times[eligible[-1]] if len(eligible) else times[-2]
    train = interactions[seen <= cutoff]
    later = interactions[seen > cutoff]
    test = later[later["user_id"].isin(train["user_id"].unique())]
    if test.empty:
        return None
    return Split(train=train, test=test, method="time")


def split_for_evaluation(interactions: pd.DataFrame, fraction: float, seed: int) -> Split:
    return time_split(interactions, fraction) or per_user_split(interactions, fraction, seed)


def relevant_by_user(test: pd.DataFrame) -> dict[int, set[int]]:
    return {int(u): set(t.tolist()) for u, t in test.groupby("user_idx")["track_idx"]}


def seen_by_user(interactions: pd.DataFrame) -> dict[int, set[int]]:
    return {int(u): set(t.tolist()) for u, t in interactions.groupby("user_idx")["track_idx"]}


def to_spark(spark: SparkSession, interactions: pd.DataFrame) -> DataFrame:
    frame = interactions[["user_idx", "track_idx", "weight"]].astype(
        {"user_idx": "int32", "track_idx": "int32", "weight": "float32"}
    )
    return spark.createDataFrame(frame, schema=SPARK_SCHEMA)
