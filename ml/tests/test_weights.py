"""Time-aware weights: a decayed weight and recent popularity put a recent listen above
an old one; log1p compresses repeated listens."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from recommender.popularity import popularity_of
from recommender.weights import weighted

from .synthetic import as_spark

NEWEST = datetime(2026, 11, 30)


def _listens() -> pd.DataFrame:
    """Track 0: two listeners, 28 days ago; track 1: one listener, today. Same counts."""
    return pd.DataFrame(
        {
            "user_id": [1, 2, 3],
            "track_id": [100, 100, 101],
            "weight": [3.0, 3.0, 3.0],
            "seen_at": [NEWEST - timedelta(days=28)] * 2 + [NEWEST],
            "user_idx": [0, 1, 2],
            "track_idx": [0, 0, 1],
        }
    )


def _weights(spark: SparkSession, confidence: str, half_life_days: float) -> dict[int, float]:
    frame = weighted(as_spark(spark, _listens()), confidence, half_life_days)
    return {r["user_idx"]: r["weight"] for r in frame.collect()}


def test_a_decayed_weight_ranks_a_recent_listen_above_an_old_one(spark: SparkSession) -> None:
    assert _weights(spark, "raw", 0.0) == {0: 3.0, 1: 3.0, 2: 3.0}
    decayed = _weights(spark, "raw", 7.0)
    # 28 days are four half-lives: 3 / 16; the newest listen keeps its whole weight.
    assert decayed[0] == pytest.approx(3 / 16) and decayed[2] == pytest.approx(3.0)
    assert _weights(spark, "log1p", 7.0)[2] == pytest.approx(1.3862944)


def test_recent_popularity_puts_what_is_heard_now_first(spark: SparkSession) -> None:
    frame = as_spark(spark, _listens())
    # Counted plainly, the old track's two listeners win; recently, one listener today
    # (1) outweighs two of four half-lives ago (2 / 16).
    assert [t for t, _ in popularity_of(frame, 2).overall] == [0, 1]
    recent = popularity_of(frame, 2, half_life_days=7.0).overall
    assert [t for t, _ in recent] == [1, 0]
    assert recent[1][1] == pytest.approx(2 / 16)


def test_interactions_without_time_keep_their_weight(spark: SparkSession) -> None:
    frame = as_spark(spark, _listens().assign(seen_at=pd.NaT))
    assert {r["weight"] for r in weighted(frame, "raw", 7.0).collect()} == {3.0}
