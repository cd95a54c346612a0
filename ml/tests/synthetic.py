"""Deterministic synthetic listen histories with taste structure (users prefer one genre),
so a working ALS has something to find that popularity alone does not."""

from __future__ import annotations

import random

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    FloatType,
    IntegerType,
    LongType,
    StructField,
    StructType,
    TimestampType,
)

INTERACTIONS_SCHEMA = StructType(
    [
        StructField("user_id", LongType()),
        StructField("track_id", LongType()),
        StructField("weight", FloatType()),
        StructField("seen_at", TimestampType()),
        StructField("user_idx", IntegerType()),
        StructField("track_idx", IntegerType()),
    ]
)

FIRST_USER_ID = 1000
FIRST_TRACK_ID = 5000
N_GENRES = 4


def genre_of(track_id: int) -> str:
    return f"genre-{(track_id - FIRST_TRACK_ID) % N_GENRES}"


def synthetic_listens(
    n_users: int = 60,
    n_tracks: int = 40,
    items_per_user: int = 6,
    repeat_every: int = 3,
    seed: int = 7,
) -> list[tuple[int, int]]:
    """(user_id, track_id) listen rows. Each user has ``items_per_user`` distinct tracks,
    ~80 % from their favourite genre (user index modulo 4); every ``repeat_every``-th
    user listens to their first track twice (so weights of 2 exist)."""
    rng = random.Random(seed)
    tracks = [FIRST_TRACK_ID + i for i in range(n_tracks)]
    by_genre = {g: [t for i, t in enumerate(tracks) if i % N_GENRES == g] for g in range(N_GENRES)}
    rows: list[tuple[int, int]] = []
    for u in range(n_users):
        user_id = FIRST_USER_ID + u
        genre = u % N_GENRES
        chosen: list[int] = []
        while len(chosen) < items_per_user:
            pool = by_genre[genre] if rng.random() < 0.8 else tracks
            track = rng.choice(pool)
            if track not in chosen:
                chosen.append(track)
        rows.extend((user_id, t) for t in chosen)
        if repeat_every and u % repeat_every == 0:
            rows.append((user_id, chosen[0]))
    return rows


def as_interactions(rows: list[tuple[int, int]]) -> pd.DataFrame:
    """(user_id, track_id, weight = number of rows, seen_at = NaT, user_idx, track_idx),
    indices dense in id order (what an empty mapping gives)."""
    listens = pd.DataFrame(rows, columns=["user_id", "track_id"])
    pairs = listens.groupby(["user_id", "track_id"]).size().rename("weight").reset_index()
    return pairs.assign(
        weight=pairs["weight"].astype("float32"),
        seen_at=pd.NaT,
        user_idx=pairs["user_id"].rank(method="dense").astype("int32") - 1,
        track_idx=pairs["track_id"].rank(method="dense").astype("int32") - 1,
    )


def as_spark(spark: SparkSession, interactions: pd.DataFrame) -> DataFrame:
    """The pandas frame as the pipeline's interactions (missing columns are null)."""

    def plain(value: object) -> object:
        if pd.isna(value):
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
        return value.item() if hasattr(value, "item") else value

    columns = [
        interactions[name] if name in interactions else [None] * len(interactions)
        for name in INTERACTIONS_SCHEMA.fieldNames()
    ]
    rows = [tuple(plain(v) for v in row) for row in zip(*columns, strict=True)]
    return spark.createDataFrame(rows, INTERACTIONS_SCHEMA)


def synthetic_interactions(**kwargs: int) -> pd.DataFrame:
    return as_interactions(synthetic_listens(**kwargs))
