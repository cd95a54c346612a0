"""``moovitamix-ml evaluate``: train and evaluate on any CSV of
``user_id,track_id[,weight][,timestamp]``, without the warehouse or MLflow.

Same split, same ALS, same popularity baseline and same metrics as the daily job, so a
data scientist can compare a data set or a setting offline with what production measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .errors import RecommenderError
from .idmap import apply_mapping, empty_mapping, extend_mapping
from .interactions import split_for_evaluation
from .settings import Settings
from .spark import spark_session
from .train import evaluate

NAMES = ["user_id", "track_id", "weight", "timestamp"]


def read_interactions_csv(path: Path) -> pd.DataFrame:
    """(user_id, track_id, weight, seen_at), one row per pair: weights of repeated pairs
    are summed (1 per row without a weight column), seen_at is the pair's first time."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RecommenderError(f"cannot read {path}: {exc}") from exc
    if "user_id" not in frame.columns or "track_id" not in frame.columns:
        # No header: the columns are positional.
        frame = pd.read_csv(path, header=None)
        if not 2 <= len(frame.columns) <= 4:
            raise RecommenderError(f"{path}: expected user_id,track_id[,weight][,timestamp]")
        frame.columns = NAMES[: len(frame.columns)]
    frame = frame.dropna(subset=["user_id", "track_id"])
    if frame.empty:
        raise RecommenderError(f"{path} has no interaction")
    weight = frame["weight"].astype("float64") if "weight" in frame else 1.0
    if "timestamp" in frame:
        raw = frame["timestamp"]
        seen = (
            pd.to_datetime(raw, unit="s", utc=True)
            if pd.api.types.is_numeric_dtype(raw)
            else pd.to_datetime(raw, utc=True, format="mixed")
        )
    else:
        seen = pd.NaT
    pairs = frame.assign(weight=weight, seen_at=seen).astype(
        {"user_id": "int64", "track_id": "int64"}
    )
    return (
        pairs.groupby(["user_id", "track_id"], as_index=False)
        .agg(weight=("weight", "sum"), seen_at=("seen_at", "min"))
        .astype({"weight": "float32"})
    )


def evaluate_csv(path: Path, settings: Settings) -> dict[str, dict[str, float]]:
    raw = read_interactions_csv(path)
    users = extend_mapping(empty_mapping(), raw["user_id"])
    tracks = extend_mapping(empty_mapping(), raw["track_id"])
    interactions = apply_mapping(raw, users, tracks)
    split = split_for_evaluation(interactions, settings.holdout_fraction, settings.holdout_seed)
    with spark_session(settings) as spark:
        result = evaluate(spark, split, settings.als, settings.eval_k)
    return {"model": result.model, "popularity": result.popularity}


def print_result(result: dict[str, dict[str, float]]) -> None:
    # The last line of stdout, parseable as JSON (the contract for the target).
    print(json.dumps({name: {k: round(v, 6) for k, v in m.items()} for name, m in result.items()}))
