"""The persistent id mapping, the fingerprint and the evaluation splits (pandas only)."""

from __future__ import annotations

import pandas as pd

from recommender.idmap import apply_mapping, empty_mapping, extend_mapping
from recommender.interactions import fingerprint, per_user_split, split_for_evaluation, time_split


def _pairs(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user_id"], frame["track_id"], strict=True))


def test_mapping_is_dense_and_stable_across_days() -> None:
    day1 = extend_mapping(empty_mapping(), pd.Series([30, 10, 20, 10]))
    assert day1.to_dict() == {10: 0, 20: 1, 30: 2}
    # Day 2: known ids keep their index, new ones (in id order) get the next ones.
    day2 = extend_mapping(day1, pd.Series([25, 20, 5]))
    assert day2.to_dict() == {5: 3, 25: 4}
    full = pd.concat([day1, day2])
    frame = pd.DataFrame({"user_id": [30, 5], "track_id": [20, 10]})
    mapped = apply_mapping(frame, full, full)
    assert mapped[["user_idx", "track_idx"]].values.tolist() == [[2, 1], [3, 0]]
    assert str(mapped["user_idx"].dtype) == "int32"


def test_fingerprint_ignores_row_order_and_sees_weight_changes(planted: pd.DataFrame) -> None:
    assert fingerprint(planted) == fingerprint(planted.sample(frac=1, random_state=3))
    changed = planted.copy()
    changed.loc[changed.index[0], "weight"] += 1
    assert fingerprint(changed) != fingerprint(planted)


def test_per_user_split_is_deterministic_disjoint_and_keeps_single_item_users() -> None:
    rows = [(1, t) for t in range(10, 30)] + [(2, 10), (3, 10), (3, 11)]
    frame = pd.DataFrame(rows, columns=["user_id", "track_id"]).assign(weight=1.0, seen_at=pd.NaT)
    split = per_user_split(frame, fraction=0.2, seed=42)
    again = per_user_split(frame.sample(frac=1, random_state=1), fraction=0.2, seed=42)
    assert _pairs(split.test) == _pairs(again.test)
    assert _pairs(split.train).isdisjoint(_pairs(split.test))
    assert _pairs(split.train) | _pairs(split.test) == set(rows)
    held = split.test.groupby("user_id").size().to_dict()
    assert held == {1: 4, 3: 1}  # 20 % of 20 items; at least one; user 2 (1 item) keeps it
    assert split.method == "per_user"
    other = per_user_split(frame, fraction=0.2, seed=7)
    assert _pairs(other.test) != _pairs(split.test)


def test_time_split_holds_out_the_newest_interactions_of_known_users() -> None:
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
    split = time_split(frame, fraction=0.2)
    assert split is not None and split.method == "time"
    assert _pairs(split.test) == {(1, 12)}
    assert _pairs(split.train) == {(1, 10), (1, 11), (2, 10), (2, 12)}
    # One load only: no time to split on, the per-user hold-out is used instead.
    assert time_split(frame.assign(seen_at=day0), 0.2) is None
    assert split_for_evaluation(frame.assign(seen_at=day0), 0.2, 42).method == "per_user"
