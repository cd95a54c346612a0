"""`moovitamix-ml evaluate --interactions file.csv`: the last stdout line is the metrics."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from recommender.cli import main
from recommender.offline import read_interactions_csv

from .synthetic import synthetic_listens

KEYS = {"precision_at_10", "recall_at_10", "map_at_10", "ndcg_at_10", "coverage"}


def test_csv_rows_become_weighted_pairs_with_their_first_time(
    tmp_path: Path, spark: SparkSession
) -> None:
    path = tmp_path / "listens.csv"
    path.write_text(
        "1,10,2,2026-01-02T00:00:00\n1,10,1,2026-01-01T00:00:00\n2,11,1,2026-01-03T00:00:00\n"
    )
    pairs = read_interactions_csv(spark, path).orderBy("user_id").collect()
    assert [(r["user_id"], r["track_id"], r["weight"]) for r in pairs] == [
        (1, 10, 3.0),
        (2, 11, 1.0),
    ]
    assert pairs[0]["seen_at"] == datetime(2026, 1, 1)


def test_numeric_timestamps_are_epoch_seconds(tmp_path: Path, spark: SparkSession) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text("user_id,track_id,weight,timestamp\n1,10,4,86400\n")
    (pair,) = read_interactions_csv(spark, path).collect()
    assert pair["seen_at"] == datetime(1970, 1, 2)


def test_evaluate_prints_model_and_popularity_metrics_as_last_line(
    tmp_path: Path,
    spark: SparkSession,  # reused by the command, which only stops a session it started
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOOVITAMIX_HOME", str(tmp_path))
    path = tmp_path / "interactions.csv"
    pd.DataFrame(synthetic_listens(), columns=["user_id", "track_id"]).to_csv(path, index=False)
    assert main(["evaluate", "--interactions", str(path), "--rank", "8", "--max-iter", "5"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {"model", "popularity"}
    assert set(result["model"]) == set(result["popularity"]) == KEYS
    assert result["model"]["ndcg_at_10"] > result["popularity"]["ndcg_at_10"]


def test_unreadable_csv_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c,d,e\n1,2,3,4,5\n")
    assert main(["evaluate", "--interactions", str(path)]) == 1
    assert "expected user_id,track_id[,weight][,timestamp]" in capsys.readouterr().err
