"""Fit ALS, and evaluate it, a popularity baseline and (optionally) the current champion
on the same hold-out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

import pandas as pd
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession

from .errors import RecommenderError
from .interactions import Split, relevant_by_user, seen_by_user, to_spark
from .metrics import catalogue_coverage, mean_ranking_metrics
from .popularity import Popularity, popularity_lists
from .score import als_top_n
from .settings import AlsParams


def build_als(params: AlsParams) -> ALS:
    return ALS(
        userCol="user_idx",
        itemCol="track_idx",
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
        checkpointInterval=params.checkpoint_interval,
    )


def training_frame(spark: SparkSession, interactions: pd.DataFrame) -> DataFrame:
    """The interactions as a DataFrame stored once on the executors, cut from its source.

    A DataFrame made from pandas is a local relation: every task of every stage that
    reads it (even through ``cache()``) carries all its rows, and ALS reads it in many
    stages (profiled at 20,000 users: ~20 % of a fit was serialising them). A local
    checkpoint keeps the rows in the executors' block stores and drops that lineage;
    the blocks go when the frame is garbage-collected (Spark's context cleaner).
    """
    return to_spark(spark, interactions).localCheckpoint(eager=True)


def fit_als(spark: SparkSession, interactions: pd.DataFrame, params: AlsParams) -> ALSModel:
    return build_als(params).fit(training_frame(spark, interactions))


class NothingToHoldOut(RecommenderError):
    """No user has two distinct tracks, so no hold-out evaluation is possible."""


def ranking_metrics(
    lists: Mapping[int, Sequence[int]],
    relevant: Mapping[int, Set[int]],
    k: int,
    catalogue_size: int,
) -> dict[str, float]:
    """precision/recall/MAP/NDCG@k averaged over the users with held-out items, plus the
    catalogue coverage of their lists."""
    metrics = mean_ranking_metrics(lists, relevant, k)
    evaluated = [lists.get(user, []) for user in relevant]
    metrics["coverage"] = catalogue_coverage(evaluated, catalogue_size, k)
    return metrics


@dataclass
class Evaluation:
    split_method: str
    k: int
    train_rows: int
    test_rows: int
    evaluated_users: int
    catalogue_size: int
    model: dict[str, float] = field(default_factory=dict)
    popularity: dict[str, float] = field(default_factory=dict)
    # The champion scored on this same hold-out; None when there is no champion.
    champion: dict[str, float] | None = None

    def as_mlflow_metrics(self) -> dict[str, float]:
        metrics = {f"model_{name}": value for name, value in self.model.items()}
        metrics.update({f"baseline_{name}": value for name, value in self.popularity.items()})
        for name, value in (self.champion or {}).items():
            metrics[f"champion_{name}"] = value
        return metrics


def evaluate(
    spark: SparkSession,
    split: Split,
    params: AlsParams,
    k: int,
    champion: ALSModel | None = None,
) -> Evaluation:
    """Train on ``split.train``; every list is built exactly like the served ones
    (training tracks removed) and judged against ``split.test``."""
    if split.test.empty:
        raise NothingToHoldOut("no user has 2+ distinct tracks: nothing to hold out")
    relevant = relevant_by_user(split.test)
    users = sorted(relevant)
    catalogue_size = int(split.train["track_idx"].nunique())

    def als_lists(model: ALSModel) -> dict[int, list[int]]:
        ranked = als_top_n(spark, model, split.train, users, k)
        return {user: [track for track, _ in items] for user, items in ranked.items()}

    model = fit_als(spark, split.train, params)
    baseline = popularity_lists(
        Popularity.from_interactions(split.train), users, seen_by_user(split.train), k
    )
    return Evaluation(
        split_method=split.method,
        k=k,
        train_rows=len(split.train),
        test_rows=len(split.test),
        evaluated_users=len(users),
        catalogue_size=catalogue_size,
        model=ranking_metrics(als_lists(model), relevant, k, catalogue_size),
        popularity=ranking_metrics(baseline, relevant, k, catalogue_size),
        champion=(
            ranking_metrics(als_lists(champion), relevant, k, catalogue_size)
            if champion is not None
            else None
        ),
    )
