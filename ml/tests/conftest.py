"""Shared fixtures: one real local Spark session for the whole test session (a session
costs ~12-30 s to start, so each test reusing it keeps the suite in minutes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import DataFrame, SparkSession

from recommender.interactions import listens_frame, to_interactions
from recommender.spark import build_spark, find_java

from .synthetic import synthetic_listens


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    if find_java() is None:
        pytest.fail("Java is required for the Spark tests (install OpenJDK 17)")
    session = build_spark(
        "local[2]", tmp_path_factory.mktemp("spark") / "checkpoints", shuffle_partitions=2
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def synthetic_rows() -> list[tuple[int, int]]:
    return synthetic_listens()


@pytest.fixture(scope="session")
def synthetic_interactions(
    spark: SparkSession, synthetic_rows: list[tuple[int, int]]
) -> Iterator[DataFrame]:
    import pandas as pd

    listens = pd.DataFrame(synthetic_rows, columns=["user_id", "track_id"])
    interactions = to_interactions(listens_frame(spark, listens)).cache()
    yield interactions
    interactions.unpersist()
