"""``moovitamix-ml evaluate``: train and evaluate on any CSV of
``user_id,track_id[,weight][,timestamp]``, without the warehouse or MLflow.

Same split, same ALS, same popularity baseline and same metrics as the daily job, so a
data scientist can compare a data set or a setting offline with what production measures.
Spark reads the file itself (in parallel, whatever its size).
"""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .candidates import ALS, Candidate
from .errors import RecommenderError
from .idmap import apply_mapping, cached_for_joins, empty_mapping, new_entries
from .interactions import split_for_evaluation
from .settings import Settings
from .spark import spark_session
from .train import evaluate

NAMES = ["user_id", "track_id", "weight", "timestamp"]


def _csv(spark: SparkSession, path: Path, header: bool) -> DataFrame:
    return spark.read.csv(str(path), header=header, inferSchema=True)


def read_interactions_csv(spark: SparkSession, path: Path) -> DataFrame:
    """(user_id, track_id, weight, seen_at), one row per pair: weights of repeated pairs
    are summed (1 per row without a weight column), seen_at is the pair's first time."""
    if not path.is_file():
        raise RecommenderError(f"cannot read {path}: no such file")
    try:
        frame = _csv(spark, path, header=True)
        if "user_id" not in frame.columns or "track_id" not in frame.columns:
            # No header: the columns are positional.
            frame = _csv(spark, path, header=False)
            if not 2 <= len(frame.columns) <= 4:
                raise RecommenderError(f"{path}: expected user_id,track_id[,weight][,timestamp]")
            frame = frame.toDF(*NAMES[: len(frame.columns)])
        frame = frame.where(F.col("user_id").isNotNull() & F.col("track_id").isNotNull())
        weight = F.col("weight").cast("double") if "weight" in frame.columns else F.lit(1.0)
        if "timestamp" not in frame.columns:
            seen = F.lit(None).cast("timestamp")
        elif dict(frame.dtypes)["timestamp"] in {"int", "bigint", "double"}:
            seen = F.timestamp_seconds(F.col("timestamp"))
        else:
            seen = F.to_timestamp(F.col("timestamp").cast("string"))
        pairs = (
            frame.select(
                F.col("user_id").cast("long").alias("user_id"),
                F.col("track_id").cast("long").alias("track_id"),
                weight.alias("weight"),
                seen.alias("seen_at"),
            )
            .groupBy("user_id", "track_id")
            .agg(F.sum("weight").cast("float").alias("weight"), F.min("seen_at").alias("seen_at"))
        )
        if pairs.isEmpty():
            raise RecommenderError(f"{path} has no interaction")
    except PySparkException as exc:
        raise RecommenderError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc
    return pairs


def interactions_csv(spark: SparkSession, path: Path) -> DataFrame:
    """The file's interactions with dense indices, numbered as a first day numbers them."""
    raw = read_interactions_csv(spark, path).cache()
    users, _ = cached_for_joins(new_entries(empty_mapping(spark), raw.select("user_id")))
    tracks, _ = cached_for_joins(new_entries(empty_mapping(spark), raw.select("track_id")))
    return apply_mapping(raw, users, tracks).cache()


def evaluate_csv(path: Path, settings: Settings) -> dict[str, dict[str, float]]:
    # A file in, metrics out: no warehouse, so no JDBC driver needed.
    with spark_session(settings, with_jdbc=False) as spark:
        interactions = interactions_csv(spark, path)
        split = split_for_evaluation(interactions, settings.holdout_fraction, settings.holdout_seed)
        result = evaluate(
            split,
            Candidate(ALS, settings.als),
            settings.eval_k,
            settings.candidate_pool,
            max_users=settings.eval_max_users,
        )
    return {"model": result.model, "popularity": result.popularity}


def print_result(result: dict[str, dict[str, float]]) -> None:
    # The last line of stdout, parseable as JSON: what `make evaluate` and the benchmarks read.
    print(json.dumps({name: {k: round(v, 6) for k, v in m.items()} for name, m in result.items()}))
