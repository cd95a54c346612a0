"""Fit ALS and evaluate it against a popularity baseline on a per-user hold-out."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame

from .errors import RecommenderError
from .interactions import holdout_split
from .metrics import mean_ranking_metrics
from .score import recommend_als, recommend_popular
from .settings import AlsParams


def build_als(params: AlsParams) -> ALS:
    return ALS(
        userCol="user_id",
        itemCol="track_id",
        ratingCol="weight",
        # Listens are implicit feedback (confidence), not explicit ratings.
        implicitPrefs=True,
        rank=params.rank,
        regParam=params.reg_param,
        alpha=params.alpha,
        maxIter=params.max_iter,
        seed=params.seed,
        coldStartStrategy=params.cold_start_strategy,
        numUserBlocks=params.num_blocks,
        numItemBlocks=params.num_blocks,
    )


def fit_als(interactions: DataFrame, params: AlsParams) -> ALSModel:
    return build_als(params).fit(interactions)


class NothingToHoldOut(RecommenderError):
    """No user has two distinct tracks, so no hold-out evaluation is possible."""


@dataclass
class Evaluation:
    k: int
    train_rows: int
    test_rows: int
    evaluated_users: int
    model: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)

    def as_mlflow_metrics(self) -> dict[str, float]:
        metrics = {f"model_{name}": value for name, value in self.model.items()}
        metrics.update({f"baseline_{name}": value for name, value in self.baseline.items()})
        return metrics


def _lists_by_user(recommendations: DataFrame) -> dict[int, list[int]]:
    lists: dict[int, list[tuple[int, int]]] = {}
    for row in recommendations.select("user_id", "rank", "track_id").collect():
        lists.setdefault(int(row["user_id"]), []).append((int(row["rank"]), int(row["track_id"])))
    return {user: [track for _, track in sorted(items)] for user, items in lists.items()}


def _relevant_by_user(test: DataFrame) -> dict[int, set[int]]:
    relevant: dict[int, set[int]] = {}
    for row in test.select("user_id", "track_id").collect():
        relevant.setdefault(int(row["user_id"]), set()).add(int(row["track_id"]))
    return relevant


def evaluate(interactions: DataFrame, params: AlsParams, k: int, holdout_seed: int) -> Evaluation:
    """Train on everything but one held-out track per user, then ask: is the held-out
    track in the user's top-k (after removing tracks seen in training, as serving does)?

    The per-user lists are collected to the driver: one list of k ids per user is small
    even for hundreds of thousands of users, and it keeps the metrics plain Python.
    """
    train, test = holdout_split(interactions, holdout_seed)
    train = train.cache()
    test = test.cache()
    try:
        train_rows, test_rows = train.count(), test.count()
        if test_rows == 0:
            raise NothingToHoldOut("no user has 2+ distinct tracks: nothing to hold out")
        relevant = _relevant_by_user(test)
        test_users = test.select("user_id").distinct()

        model = fit_als(train, params)
        model_lists = _lists_by_user(recommend_als(model, train, test_users, k))
        baseline_lists = _lists_by_user(recommend_popular(train, test_users, k))
        return Evaluation(
            k=k,
            train_rows=train_rows,
            test_rows=test_rows,
            evaluated_users=len(relevant),
            model=mean_ranking_metrics(model_lists, relevant, k),
            baseline=mean_ranking_metrics(baseline_lists, relevant, k),
        )
    finally:
        train.unpersist()
        test.unpersist()
