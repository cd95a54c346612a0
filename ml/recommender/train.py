"""Fit ALS, and evaluate it, a popularity baseline and (optionally) the current champion
on the same hold-out. Lists and metrics are computed by the executors; only the averages
come back to the driver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd
from pyspark import StorageLevel
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .candidates import Candidate
from .errors import RecommenderError
from .events import timed
from .interactions import Split, user_sample
from .metrics import average_precision_at_k, ndcg_at_k, precision_at_k, recall_at_k
from .popularity import Popularity, listeners, popularity_of
from .score import Candidates, seen_lists, top_n_lists, user_factors
from .settings import AlsParams
from .weights import weighted

PER_USER_METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "map": average_precision_at_k,
    "ndcg": ndcg_at_k,
}


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


def training_frame(interactions: DataFrame, params: AlsParams | None = None) -> DataFrame:
    """The ALS columns, weighted as ``params`` say (weights.py; None: the listen counts
    as they are), cached on the executors (columnar, compressed) for the fit.

    ALS reads its input in several stages; without the cache each of them would re-run
    the query behind it (a JDBC read, a split)."""
    if params is not None:
        interactions = weighted(interactions, params.confidence, params.half_life_days)
    return interactions.select(
        F.col("user_idx").cast("int"), F.col("track_idx").cast("int"), F.col("weight").cast("float")
    ).persist(StorageLevel.MEMORY_AND_DISK)


def fit_als(interactions: DataFrame, params: AlsParams) -> ALSModel:
    frame = training_frame(interactions, params)
    model = build_als(params).fit(frame)
    frame.unpersist()
    return model


class NothingToHoldOut(RecommenderError):
    """No user has two distinct tracks, so no hold-out evaluation is possible."""


def _per_user_metrics(k: int, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        rows = [
            (
                list(recommended) if recommended is not None else [],
                set(relevant.tolist()),
            )
            for recommended, relevant in zip(batch["recommended"], batch["relevant"], strict=True)
        ]
        yield pd.DataFrame(
            {
                name: [function(recommended, relevant, k) for recommended, relevant in rows]
                for name, function in PER_USER_METRICS.items()
            }
        )


def ranking_metrics(
    lists: DataFrame, relevant: DataFrame, k: int, catalogue_size: int
) -> dict[str, float]:
    """precision/recall/MAP/NDCG@k averaged over the users with held-out items (a user
    without a list counts as all misses), plus the catalogue coverage of their lists.

    ``lists`` is (user_key, rank, track_idx), ``relevant`` (user_key, track_idx). The
    per-user formulas are metrics.py's, run by the executors."""
    # Read twice (per-user metrics, coverage): scored once.
    top = lists.where(F.col("rank") <= k).persist(StorageLevel.MEMORY_AND_DISK)
    recommended = top.groupBy("user_key").agg(
        F.transform(
            F.array_sort(F.collect_list(F.struct("rank", "track_idx"))), lambda r: r["track_idx"]
        ).alias("recommended")
    )
    wanted = relevant.groupBy("user_key").agg(F.collect_set("track_idx").alias("relevant"))
    per_user = wanted.join(recommended, "user_key", "left").mapInPandas(
        lambda batches: _per_user_metrics(k, batches),
        ", ".join(f"{name} double" for name in PER_USER_METRICS),
    )
    averages = per_user.agg(
        F.count(F.lit(1)).alias("users"),
        *(F.avg(name).alias(name) for name in PER_USER_METRICS),
    ).first()
    if not averages["users"]:
        raise ValueError("no user has relevant items to evaluate against")
    shown = top.join(wanted, "user_key", "left_semi").select("track_idx").distinct().count()
    top.unpersist()
    metrics = {f"{name}_at_{k}": float(averages[name]) for name in PER_USER_METRICS}
    metrics["coverage"] = shown / catalogue_size
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


def candidate_pool(counted: DataFrame, size: int) -> DataFrame | None:
    """The ``size`` most listened tracks (track_idx) of ``counted`` (``listeners(...)``,
    the popularity ranking), or None for every track (size 0)."""
    if size <= 0:
        return None
    ranked = counted.orderBy(F.desc("listeners"), F.asc("track_idx"))
    return ranked.limit(size).select("track_idx")


@dataclass
class HoldOut:
    """What every model is judged on: the evaluated users with their training history,
    their held-out tracks, and the popularity of the training part (its ranking, cached:
    the popularity heads and each model's candidate pool read it)."""

    split: Split
    k: int
    relevant: DataFrame
    evaluated: DataFrame
    test_rows: int
    catalogue_size: int
    counted: DataFrame
    popularity: Popularity

    @classmethod
    def of(cls, split: Split, k: int, max_users: int = 0) -> HoldOut:
        """``max_users`` > 0 judges a hashed sample of about that many of the users with
        held-out tracks (the same users for every model, every day the data is the
        same): the metrics' precision no longer improves past ~10^5 users, their cost
        does."""
        test_rows = split.test.count()
        if test_rows == 0:
            raise NothingToHoldOut("no user has 2+ distinct tracks: nothing to hold out")
        relevant = user_sample(split.test, max_users).select(
            F.col("user_idx").alias("user_key"), "track_idx"
        )
        evaluated = (
            relevant.select(F.col("user_key").alias("user_idx"))
            .distinct()
            .join(seen_lists(split.train), "user_idx", "left")
            .cache()
        )
        counted = listeners(split.train).cache()
        return cls(
            split=split,
            k=k,
            relevant=relevant,
            evaluated=evaluated,
            test_rows=test_rows,
            # Every training track has a listener: the ranking holds the catalogue.
            catalogue_size=counted.count(),
            counted=counted,
            popularity=popularity_of(split.train, k, counted=counted),
        )

    def metrics(
        self, model: ALSModel | None, pool_size: int, half_life_days: float = 0.0
    ) -> dict[str, float]:
        """The lists of ``model`` (popularity's when None, recent popularity's with a
        half-life), built exactly like the served ones (training tracks removed, short
        lists completed by popularity), judged against the held-out tracks."""
        popularity = (
            popularity_of(self.split.train, self.k, half_life_days=half_life_days)
            if model is None and half_life_days > 0
            else self.popularity
        )
        users = self.evaluated
        if model is not None:
            users = users.join(user_factors(model), "user_idx", "left")
        candidates = (
            Candidates.of(model, candidate_pool(self.counted, pool_size))
            if model is not None
            else None
        )
        lists = top_n_lists(
            users.withColumnRenamed("user_idx", "user_key"), self.k, popularity, candidates
        )
        return ranking_metrics(lists, self.relevant, self.k, self.catalogue_size)

    def judge(
        self, candidate: Candidate, pool_size: int, model: ALSModel | None = None
    ) -> dict[str, float]:
        """The metrics of ``candidate``'s lists; an ALS candidate is fitted on the
        training part unless its ``model`` is given."""
        if not candidate.is_als:
            return self.metrics(None, pool_size, candidate.popularity_half_life_days)
        if model is None:
            with timed("model_fitted", part="training split", candidate=candidate.label):
                model = fit_als(self.split.train, candidate.als)
        return self.metrics(model, pool_size)

    def release(self) -> None:
        self.evaluated.unpersist()
        self.counted.unpersist()


def evaluate(
    split: Split,
    challenger: Candidate,
    k: int,
    pool_size: int,
    champion: tuple[Candidate, ALSModel] | None = None,
    max_users: int = 0,
) -> Evaluation:
    """Judge ``challenger`` (fitted on ``split.train`` when it is an ALS candidate),
    popularity and the champion (what it serves, with its model) on the same hold-out
    (of at most about ``max_users`` users when > 0)."""
    with timed("hold_out_ready", split=split.method) as fields:
        hold_out = HoldOut.of(split, k, max_users)
        fields.update(test_rows=hold_out.test_rows, users=hold_out.evaluated.count())
    judges: dict[str, Callable[[], dict[str, float]]] = {
        "model": lambda: hold_out.judge(challenger, pool_size),
        "popularity": lambda: hold_out.metrics(None, pool_size),
    }
    if champion is not None:
        judges["champion"] = lambda: hold_out.judge(champion[0], pool_size, champion[1])
    judged: dict[str, dict[str, float]] = {}
    for name, judge in judges.items():
        with timed("lists_evaluated", lists=name) as fields:
            judged[name] = judge()
            fields["ndcg_at_10"] = judged[name][f"ndcg_at_{k}"]
    result = Evaluation(
        split_method=split.method,
        k=k,
        train_rows=split.train.count(),
        test_rows=hold_out.test_rows,
        evaluated_users=hold_out.evaluated.count(),
        catalogue_size=hold_out.catalogue_size,
        model=judged["model"],
        popularity=judged["popularity"],
        champion=judged.get("champion"),
    )
    hold_out.release()
    return result
