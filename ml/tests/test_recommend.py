"""The published lists: model lists for known users, cold start by favourite genre,
popular unheard tracks for users the model does not know, in warehouse ids."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import SparkSession

from recommender.popularity import Popularity, popularity_of
from recommender.recommend import ListCounts, build_lists

from .synthetic import as_spark

# Track ids 100 + idx. Listeners: 0 -> 3 users, 1 -> 2, 2 -> 2, 3 -> 1, 4 -> 1.
PAIRS = [(0, 0), (0, 1), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2), (3, 3), (3, 4)]
GENRES = {0: "Rock", 1: "Jazz", 2: "Jazz", 3: "Jazz", 4: "Pop"}


def _interactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [10 + u for u, _ in PAIRS],
            "track_id": [100 + t for _, t in PAIRS],
            "weight": 1.0,
            "user_idx": [u for u, _ in PAIRS],
            "track_idx": [t for _, t in PAIRS],
        }
    )


def test_popularity_by_genre_then_overall(spark: SparkSession) -> None:
    genres = spark.createDataFrame(list(GENRES.items()), "track_idx int, genre string")
    wanted = spark.createDataFrame([("Jazz",), ("Pop",)], "favorite_genre string")
    popularity = popularity_of(as_spark(spark, _interactions()), 3, genres, wanted)
    assert popularity.overall == [(0, 3.0), (1, 2.0), (2, 2.0), (3, 1.0), (4, 1.0)]
    assert set(popularity.by_genre) == {"Jazz", "Pop"}  # Rock: nobody's favourite
    assert [t for t, _ in popularity.top_n(3, genre="Jazz")] == [1, 2, 3]
    # Seen tracks are skipped; a short genre is completed with the overall ranking.
    assert [t for t, _ in popularity.top_n(3, seen={1}, genre="Pop")] == [4, 0, 2]


def test_popularity_heads_are_long_enough_for_the_longest_history() -> None:
    popularity = Popularity(overall=[(t, 12.0 - t) for t in range(12)])
    # A user who heard the 10 most popular tracks still gets 2 unheard ones.
    assert popularity.top_n(2, seen=range(10)) == [(10, 2.0), (11, 1.0)]


def test_every_user_gets_a_list_in_warehouse_ids(spark: SparkSession) -> None:
    interactions = as_spark(spark, _interactions())
    users = spark.createDataFrame(
        [(10, "Rock"), (11, None), (12, "Jazz"), (13, "Pop"), (99, "Jazz")],
        "user_id long, favorite_genre string",
    )
    track_genres = spark.createDataFrame(
        [(100 + t, g) for t, g in GENRES.items()], "track_id long, genre string"
    )
    tracks = spark.createDataFrame([(100 + t, t) for t in GENRES], "id long, idx int")
    lists = build_lists(interactions, users, track_genres, tracks, None, 2, pool_size=0)
    by_user: dict[int, list[int]] = {}
    for row in lists.orderBy("user_id", "rank").collect():
        by_user.setdefault(row["user_id"], []).append(row["track_id"])
    # No model: users with history get popular unheard tracks, their genre first.
    assert by_user[10] == [102, 103]  # Rock's only track (100) was heard: overall next
    assert by_user[11] == [101, 103]  # no favourite genre: overall
    assert by_user[12] == [103, 104]  # heard 100-102: Jazz's 103, then overall
    assert by_user[13] == [100, 101]  # Pop's 104 was heard
    assert by_user[99] == [101, 102]  # cold start: Jazz's most popular
    counts = ListCounts.of(lists)
    assert (counts.users, counts.rows, counts.cold_start_users, counts.fallback_users) == (
        5,
        10,
        1,
        4,
    )
