"""Which of ``make bench-ml``'s targets apply to a data set and split, and that a miss
shows as one."""

from __future__ import annotations

import math

from benchmarks.ml.targets import IMPLICIT, ORACLE, PLANTED, POPULARITY, PUBLISHED, SPARK, Case, ratio


def case(data_set: str, split: str, **ndcg: float) -> Case:
    names = {"published": PUBLISHED, "spark": SPARK, "implicit": IMPLICIT, "popularity": POPULARITY, "oracle": ORACLE}
    return Case(
        data_set,
        split,
        users=100,
        ndcg={names[name]: value for name, value in ndcg.items()},
        recent={"recent_popularity(7d)": 0.2, "recent_popularity(30d)": 0.25},
    )


def test_a_time_split_is_held_to_the_baselines_only() -> None:
    checks = case("real", "time", published=0.3, spark=0.1, implicit=0.2, popularity=0.1).checks()
    assert [(what, round(value, 3), minimum) for what, value, minimum in checks] == [
        ("published / popularity", 3.0, 1.0),
        ("published / recent popularity", 1.2, 1.0),  # against the best half-life's
    ]


def test_per_user_hold_outs_add_implicit_and_the_planted_set_popularity_lift() -> None:
    real = case("real", "per_user", published=0.3, spark=0.3, implicit=0.4, popularity=0.1)
    planted = case(PLANTED, "per_user", published=0.3, spark=0.3, implicit=0.3, popularity=0.2)
    missed = {what for what, value, minimum in real.checks() + planted.checks() if value < minimum}
    assert missed == {"Spark / implicit", "Spark / popularity"}
    assert [what for what, _, _ in planted.checks()][-1] == "Spark / popularity"


def test_the_oracle_counts_where_it_is_known() -> None:
    with_oracle = case("stand-in", "per_user", published=0.27, spark=0.27, implicit=0.2, popularity=0.05, oracle=0.3)
    assert ("published / oracle", 0.9, 0.9) in [(w, round(v, 3), m) for w, v, m in with_oracle.checks()]


def test_a_zero_baseline_is_beaten_by_anything_above_it() -> None:
    assert ratio(0.1, 0.0) == math.inf
    assert ratio(0.0, 0.0) == 1.0
    assert ratio(0.1, 0.2) == 0.5
