"""Which published lists a day keeps: users the served model knows whose history did not
grow since its training, each of them scored again once per rotation."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
from pyspark.sql import SparkSession

from recommender.reuse import kept_users, learnt_until_time, why_everyone_is_scored

from .synthetic import as_spark

LEARNT_UNTIL = datetime(2026, 11, 1, 6, tzinfo=timezone.utc)


def _ids(spark: SparkSession, ids: range | list[int]):  # type: ignore[no-untyped-def]
    return spark.createDataFrame([(i,) for i in ids], "user_id long")


def test_kept_users_are_known_current_unchanged_and_each_rescored_once_per_rotation(
    spark: SparkSession,
) -> None:
    interactions = as_spark(
        spark,
        pd.DataFrame(
            {
                "user_id": [1, 2, 2, 3, 4, 5, 6, 7, 8],
                "track_id": [10, 10, 11, 10, 10, 10, 10, 10, 10],
                # User 2 heard a new track after the model's training data.
                "seen_at": [LEARNT_UNTIL] * 2
                + [LEARNT_UNTIL + timedelta(days=1)]
                + [LEARNT_UNTIL] * 6,
            }
        ),
    )
    published = _ids(spark, range(1, 10))  # 9: a published list, no longer any listen
    known = _ids(spark, range(1, 8))  # 8: the model does not know them
    current = _ids(spark, [1, 2, 3, 4, 5, 6, 8, 9])  # 7: no longer a user
    eligible = {1, 3, 4, 5, 6}
    every_days = 3
    first = date(2026, 12, 4)

    def kept_on(day: int) -> set[int]:
        kept = kept_users(
            published,
            known,
            current,
            interactions,
            LEARNT_UNTIL,
            every_days,
            first + timedelta(days=day),
        )
        return {row["user_id"] for row in kept.collect()}

    kept_each_day = [kept_on(day) for day in range(every_days)]
    assert all(kept <= eligible for kept in kept_each_day), kept_each_day
    # Each eligible user is scored again on exactly one day of the rotation.
    assert all(sum(user not in kept for kept in kept_each_day) == 1 for user in eligible), (
        kept_each_day
    )
    # The rotation starts again: the day after it keeps what its first day kept.
    assert kept_on(every_days) == kept_each_day[0]


def test_every_user_is_scored_without_a_model_a_known_training_or_a_rotation() -> None:
    assert "popularity" in (why_everyone_is_scored(False, LEARNT_UNTIL, 7) or "")
    assert "new version" in (why_everyone_is_scored(True, None, 7) or "")
    assert "every day" in (why_everyone_is_scored(True, LEARNT_UNTIL, 1) or "")
    assert why_everyone_is_scored(True, LEARNT_UNTIL, 7) is None
    assert learnt_until_time("2026-11-01T06:00:00+00:00") == LEARNT_UNTIL
    assert learnt_until_time("none") is None and learnt_until_time(None) is None
