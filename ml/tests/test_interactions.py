"""Implicit weights and the hold-out split, on real local Spark."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from recommender.interactions import (
    holdout_split,
    listens_frame,
    max_items_per_user,
    to_interactions,
)


def _pairs(frame: DataFrame) -> set[tuple[int, int]]:
    return {(r["user_id"], r["track_id"]) for r in frame.select("user_id", "track_id").collect()}


def test_weight_is_number_of_listen_rows(spark: SparkSession) -> None:
    listens = pd.DataFrame(
        [(1, 10), (1, 10), (1, 11), (2, 10), (1, 10), (3, 12)], columns=["user_id", "track_id"]
    )
    interactions = to_interactions(listens_frame(spark, listens))
    weights = {(r["user_id"], r["track_id"]): r["weight"] for r in interactions.collect()}
    assert weights == {(1, 10): 3.0, (1, 11): 1.0, (2, 10): 1.0, (3, 12): 1.0}
    assert dict(interactions.dtypes) == {"user_id": "int", "track_id": "int", "weight": "float"}
    assert max_items_per_user(interactions) == 2


def test_holdout_is_deterministic_disjoint_and_one_per_user(
    synthetic_interactions: DataFrame,
) -> None:
    train, test = holdout_split(synthetic_interactions, seed=42)
    # Same seed on differently partitioned input: same split (rand() would not promise it).
    train2, test2 = holdout_split(synthetic_interactions.repartition(7), seed=42)
    all_pairs = _pairs(synthetic_interactions)
    train_pairs, test_pairs = _pairs(train), _pairs(test)

    assert test_pairs == _pairs(test2)
    assert train_pairs == _pairs(train2)
    assert train_pairs.isdisjoint(test_pairs)
    assert train_pairs | test_pairs == all_pairs
    held_users = [user for user, _ in test_pairs]
    assert len(held_users) == len(set(held_users)) == len({u for u, _ in all_pairs})
    # Weights travel with the rows.
    assert set(test.columns) == {"user_id", "track_id", "weight"}


def test_holdout_changes_with_seed_and_keeps_single_item_users(spark: SparkSession) -> None:
    listens = pd.DataFrame(
        [(1, t) for t in range(10, 30)] + [(2, 10), (3, 10), (3, 11)],
        columns=["user_id", "track_id"],
    )
    interactions = to_interactions(listens_frame(spark, listens))
    _, test_a = holdout_split(interactions, seed=1)
    train_b, _ = holdout_split(interactions, seed=2)
    assert {u for u, _ in _pairs(test_a)} == {1, 3}  # user 2 has one item: nothing held out
    assert (2, 10) in _pairs(train_b)
    # 20 candidate items for user 1: different seeds should not all pick the same one.
    picks = {
        next(t for u, t in _pairs(holdout_split(interactions, seed=s)[1]) if u == 1)
        for s in range(6)
    }
    assert len(picks) > 1
