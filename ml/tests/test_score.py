"""Top-N lists: exclusion of listened tracks, exactly N per user, ranks and score order."""

from __future__ import annotations

from itertools import pairwise

import pytest
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession

from recommender.score import recommend_als, recommend_popular, top_n_unseen
from recommender.settings import AlsParams
from recommender.train import NothingToHoldOut, evaluate, fit_als

FAST_ALS = AlsParams(rank=8, max_iter=5)


@pytest.fixture(scope="module")
def als_model(synthetic_interactions: DataFrame) -> ALSModel:
    return fit_als(synthetic_interactions, FAST_ALS)


def _lists(recs: DataFrame) -> dict[int, list[tuple[int, int, float]]]:
    lists: dict[int, list[tuple[int, int, float]]] = {}
    for r in recs.orderBy("user_id", "rank").collect():
        lists.setdefault(r["user_id"], []).append((r["rank"], r["track_id"], r["score"]))
    return lists


def _history(interactions: DataFrame) -> dict[int, set[int]]:
    history: dict[int, set[int]] = {}
    for r in interactions.collect():
        history.setdefault(r["user_id"], set()).add(r["track_id"])
    return history


def _assert_well_formed(lists: dict, history: dict[int, set[int]], n: int) -> None:
    assert set(lists) == set(history), "every user must get a list"
    for user, items in lists.items():
        ranks = [rank for rank, _, _ in items]
        tracks = [track for _, track, _ in items]
        scores = [score for _, _, score in items]
        assert ranks == list(range(1, n + 1)), f"user {user}: ranks {ranks}"
        assert len(set(tracks)) == n, f"user {user}: duplicate tracks {tracks}"
        assert not set(tracks) & history[user], f"user {user}: recommended a listened track"
        assert all(a >= b for a, b in pairwise(scores)), scores


def test_als_recommendations_exclude_history_and_fill_top_10(
    als_model: ALSModel, synthetic_interactions: DataFrame
) -> None:
    users = synthetic_interactions.select("user_id").distinct()
    recs = recommend_als(als_model, synthetic_interactions, users, 10)
    _assert_well_formed(_lists(recs), _history(synthetic_interactions), 10)


def test_popularity_baseline_excludes_history_and_follows_popularity(
    synthetic_interactions: DataFrame,
) -> None:
    users = synthetic_interactions.select("user_id").distinct()
    lists = _lists(recommend_popular(synthetic_interactions, users, 10))
    _assert_well_formed(lists, _history(synthetic_interactions), 10)
    listeners: dict[int, int] = {}
    for tracks in _history(synthetic_interactions).values():
        for t in tracks:
            listeners[t] = listeners.get(t, 0) + 1
    for items in lists.values():
        assert [score for _, _, score in items] == [float(listeners[t]) for _, t, _ in items]


def test_top_n_unseen_on_hand_made_candidates(spark: SparkSession) -> None:
    candidates = spark.createDataFrame(
        [(1, 10, 0.9), (1, 11, 0.8), (1, 12, 0.8), (1, 13, 0.1), (2, 10, 0.5), (2, 11, 0.4)],
        "user_id int, track_id int, score double",
    )
    seen = spark.createDataFrame([(1, 10), (2, 11)], "user_id int, track_id int")
    got = {
        (r["user_id"], r["rank"]): r["track_id"]
        for r in top_n_unseen(candidates, seen, 2).collect()
    }
    # user 1: 10 was listened; 11 and 12 tie at 0.8 -> lower track id first.
    assert got == {(1, 1): 11, (1, 2): 12, (2, 1): 10}


def test_evaluate_reports_model_and_baseline(synthetic_interactions: DataFrame) -> None:
    result = evaluate(synthetic_interactions, FAST_ALS, k=10, holdout_seed=42)
    n_users = synthetic_interactions.select("user_id").distinct().count()
    assert result.evaluated_users == n_users == result.test_rows
    assert result.train_rows + result.test_rows == synthetic_interactions.count()
    for metrics in (result.model, result.baseline):
        assert set(metrics) == {"precision_at_10", "recall_at_10", "ndcg_at_10"}
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
        # One held-out item per user: recall is exactly 10 x precision.
        assert metrics["recall_at_10"] == pytest.approx(10 * metrics["precision_at_10"])
    # The synthetic users have a favourite genre; a working ALS must find it better than
    # "most popular overall".
    assert result.model["ndcg_at_10"] > result.baseline["ndcg_at_10"], result


def test_evaluation_needs_a_user_with_two_tracks(spark: SparkSession) -> None:
    single = spark.createDataFrame(
        [(1, 10, 1.0), (2, 11, 3.0)], "user_id int, track_id int, weight float"
    )
    with pytest.raises(NothingToHoldOut):
        evaluate(single, FAST_ALS, k=10, holdout_seed=42)
