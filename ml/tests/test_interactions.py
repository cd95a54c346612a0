"""The persistent id mapping, the fingerprint and the evaluation splits, on real Spark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recommender import idmap
from recommender.idmap import apply_mapping, cached_for_joins, empty_mapping, new_entries
from recommender.interactions import (
    _mix,
    fingerprint,
    per_user_split,
    split_for_evaluation,
    time_split,
)

from .synthetic import as_spark


def _pairs(frame: DataFrame) -> set[tuple[int, int]]:
    return {(r["user_id"], r["track_id"]) for r in frame.select("user_id", "track_id").collect()}


def _ids(spark: SparkSession, ids: list[int]) -> DataFrame:
    return spark.createDataFrame([(i,) for i in ids], "user_id long")


def _as_dict(frame: DataFrame) -> dict[int, int]:
    return {r["id"]: r["idx"] for r in frame.collect()}


@contextmanager
def _spark_conf(spark: SparkSession, key: str, value: str) -> Iterator[None]:
    spark.conf.set(key, value)
    try:
        yield
    finally:
        spark.conf.unset(key)


def test_mapping_is_dense_and_stable_across_days(spark: SparkSession) -> None:
    day1 = new_entries(empty_mapping(spark), _ids(spark, [30, 10, 20, 10]).repartition(3))
    assert _as_dict(day1) == {10: 0, 20: 1, 30: 2}
    # Day 2: known ids keep their index, new ones (in id order) get the next ones.
    day2 = new_entries(day1, _ids(spark, [25, 20, 5]))
    assert _as_dict(day2) == {5: 3, 25: 4}
    full = day1.unionByName(day2)
    frame = spark.createDataFrame([(30, 20), (5, 10)], "user_id long, track_id long")
    mapped = apply_mapping(frame, full, full).orderBy("user_idx").collect()
    assert [(r["user_idx"], r["track_idx"]) for r in mapped] == [(2, 1), (3, 0)]
    assert dict(apply_mapping(frame, full, full).dtypes)["user_idx"] == "int"


def test_mapping_numbers_ids_spread_over_many_partitions_in_id_order(
    spark: SparkSession,
) -> None:
    ids = list(range(3, 30_000, 7))
    shuffled = pd.Series(ids).sample(frac=1, random_state=5).tolist()
    existing = spark.createDataFrame([(1, 0), (2, 1)], idmap.MAPPING_SCHEMA)
    # Spark would merge these small sorted partitions into one: kept apart, as large ones are.
    with _spark_conf(spark, "spark.sql.adaptive.coalescePartitions.enabled", "false"):
        added = new_entries(existing, _ids(spark, shuffled + shuffled[:50]).repartition(7))
        assert added.rdd.getNumPartitions() > 1
        assert _as_dict(added) == {id_: 2 + place for place, id_ in enumerate(ids)}


def _joins(frame: DataFrame) -> list[str]:
    """The join strategies of ``frame``'s physical plan, one entry per join, sorted."""
    plan = frame._jdf.queryExecution().executedPlan().toString()
    joins = ("BroadcastHashJoin", "SortMergeJoin")
    return sorted(join for join in joins for _ in range(plan.count(join)))


def test_small_mappings_are_broadcast_and_large_ones_are_not(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Spark's own size estimate would broadcast these small local frames anyway: off, so
    # only the mapping's hint can.
    monkeypatch.setattr(idmap, "BROADCAST_MAX_IDS", 3)
    with _spark_conf(spark, "spark.sql.autoBroadcastJoinThreshold", "-1"):
        frame = spark.createDataFrame([(30, 20), (5, 10)], "user_id long, track_id long")
        users, user_ids = cached_for_joins(new_entries(empty_mapping(spark), _ids(spark, [30, 5])))
        tracks, track_ids = cached_for_joins(
            new_entries(empty_mapping(spark), _ids(spark, [20, 10, 40, 50]))
        )
        assert (user_ids, track_ids) == (2, 4)
        # Users (2 ids) are broadcast; tracks (4 ids, over the limit of 3) are sorted and merged.
        assert _joins(apply_mapping(frame, users, tracks)) == ["BroadcastHashJoin", "SortMergeJoin"]


def test_fingerprint_ignores_row_order_and_sees_weight_changes(
    spark: SparkSession, planted: pd.DataFrame
) -> None:
    frame = as_spark(spark, planted)
    shuffled = as_spark(spark, planted.sample(frac=1, random_state=3)).repartition(5)
    assert fingerprint(frame) == fingerprint(shuffled)
    changed = planted.copy()
    changed.loc[changed.index[0], "weight"] += 1
    assert fingerprint(as_spark(spark, changed)) != fingerprint(frame)


def _reference_per_user_held(frame: pd.DataFrame, fraction: float, seed: int) -> set:
    """The split as the pandas implementation computed it before the recommender moved
    to Spark: the same pairs must be held out."""
    order = _mix(frame["user_id"].to_numpy(), frame["track_id"].to_numpy(), seed)
    ranked = frame.assign(_order=order)
    position = ranked.groupby("user_id")["_order"].rank(method="first") - 1
    items = ranked.groupby("user_id")["track_id"].transform("size")
    held = (items >= 2) & (position < np.maximum(1, np.floor(items * fraction)))
    return set(zip(frame["user_id"][held], frame["track_id"][held], strict=True))


def test_per_user_split_is_deterministic_disjoint_and_keeps_single_item_users(
    spark: SparkSession,
) -> None:
    rows = [(1, t) for t in range(10, 30)] + [(2, 10), (3, 10), (3, 11)]
    frame = pd.DataFrame(rows, columns=["user_id", "track_id"]).assign(weight=1.0, seen_at=pd.NaT)
    split = per_user_split(as_spark(spark, frame), fraction=0.2, seed=42)
    again = per_user_split(
        as_spark(spark, frame.sample(frac=1, random_state=1)).repartition(3), 0.2, 42
    )
    assert _pairs(split.test) == _pairs(again.test)
    assert _pairs(split.train).isdisjoint(_pairs(split.test))
    assert _pairs(split.train) | _pairs(split.test) == set(rows)
    held = {r["user_id"]: r["count"] for r in split.test.groupBy("user_id").count().collect()}
    assert held == {1: 4, 3: 1}  # 20 % of 20 items; at least one; user 2 (1 item) keeps it
    assert split.method == "per_user"
    other = per_user_split(as_spark(spark, frame), fraction=0.2, seed=7)
    assert _pairs(other.test) != _pairs(split.test)


def test_per_user_split_holds_out_what_the_pandas_split_held_out(
    spark: SparkSession, planted: pd.DataFrame
) -> None:
    split = per_user_split(as_spark(spark, planted), fraction=0.2, seed=42)
    assert _pairs(split.test) == _reference_per_user_held(planted, 0.2, 42)


def test_time_split_holds_out_no_pair_the_champion_learnt(spark: SparkSession) -> None:
    loads = [pd.Timestamp(f"2026-11-0{day}", tz="UTC") for day in (1, 2, 3)]
    users = range(1, 6)
    frame = pd.DataFrame(
        [(user, 10 + item, loads[0]) for user in users for item in range(4)]
        + [(user, 20, loads[1]) for user in users]
        + [(user, 21, loads[2]) for user in users],
        columns=["user_id", "track_id", "seen_at"],
    ).assign(weight=1.0)
    interactions = as_spark(spark, frame)
    # 30 pairs: holding out 30 % of them cuts after the first load.
    newer = {(user, track) for user in users for track in (20, 21)}
    assert _pairs(time_split(interactions, 0.3).test) == newer
    # A champion that learnt the second load: the cut-off moves after it.
    learnt_second = loads[1].to_pydatetime() + pd.Timedelta(hours=1)
    assert _pairs(time_split(interactions, 0.3, learnt_second).test) == {
        (user, 21) for user in users
    }
    # A champion that learnt everything: nothing newer to move to, the cut-off stays.
    learnt_all = loads[2].to_pydatetime()
    assert _pairs(split_for_evaluation(interactions, 0.3, 42, learnt_all).test) == newer


def test_time_split_holds_out_the_newest_interactions_of_known_users(
    spark: SparkSession,
) -> None:
    day0, day1 = pd.Timestamp("2026-11-01", tz="UTC"), pd.Timestamp("2026-11-02", tz="UTC")
    frame = pd.DataFrame(
        [
            (1, 10, day0),
            (1, 11, day0),
            (2, 10, day0),
            (2, 12, day0),
            (1, 12, day1),
            (3, 10, day1),
        ],  # user 3 appears on day 1 only: nobody to predict from
        columns=["user_id", "track_id", "seen_at"],
    ).assign(weight=1.0)
    split = time_split(as_spark(spark, frame), fraction=0.2)
    assert split is not None and split.method == "time"
    assert _pairs(split.test) == {(1, 12)}
    assert _pairs(split.train) == {(1, 10), (1, 11), (2, 10), (2, 12)}
    # One load only: no time to split on, the per-user hold-out is used instead.
    one_load = as_spark(spark, frame.assign(seen_at=day0))
    assert time_split(one_load, 0.2) is None
    assert split_for_evaluation(one_load, 0.2, 42).method == "per_user"
    # A missing time makes the times unusable too.
    missing = as_spark(spark, frame).withColumn(
        "seen_at", F.when(F.col("user_id") == 3, None).otherwise(F.col("seen_at"))
    )
    assert time_split(missing, 0.2) is None
